from vigil.accounts.roles import Role


def staff_context(request):
    from vigil.accounts.views import screen_context

    user = getattr(request, "user", None)
    role = getattr(user, "role", "") if user and user.is_authenticated else ""
    return {"Role": Role, "my_role": role, **screen_context(request)}
