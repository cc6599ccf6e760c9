from vigil.accounts.roles import Role


def staff_context(request):
    user = getattr(request, "user", None)
    role = getattr(user, "role", "") if user and user.is_authenticated else ""
    return {"Role": Role, "my_role": role}
