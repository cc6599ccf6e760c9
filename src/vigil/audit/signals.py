"""Sign-in events: signed in, signed out, a failed attempt, a lock-out (django-axes)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

from vigil.audit.log import record


def _ip(request) -> dict:
    address = getattr(request, "META", {}).get("REMOTE_ADDR") if request is not None else None
    return {"ip": address} if address else {}


def signed_in(sender, request, user, **kwargs):
    record("session.sign_in", actor=user, request=request, subject=user, detail=_ip(request))


def signed_out(sender, request, user, **kwargs):
    if user is not None and user.is_authenticated:
        record("session.sign_out", actor=user, request=request, subject=user, detail=_ip(request))


def sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password in `credentials`; the name typed is kept, since
    # guessing at one account is what this entry is for.
    username = str((credentials or {}).get("username") or "")[:150]
    record("session.sign_in_failed", request=request, detail={"username": username, **_ip(request)})


def locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    detail = {"username": str(username or "")[:150]}
    if ip_address:
        detail["ip"] = ip_address
    record("session.locked_out", request=request, detail=detail)


def connect() -> None:
    from axes.signals import user_locked_out

    user_logged_in.connect(signed_in, dispatch_uid="vigil.audit.signed_in")
    user_logged_out.connect(signed_out, dispatch_uid="vigil.audit.signed_out")
    user_login_failed.connect(sign_in_failed, dispatch_uid="vigil.audit.sign_in_failed")
    user_locked_out.connect(locked_out, dispatch_uid="vigil.audit.locked_out")
