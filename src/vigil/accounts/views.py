"""Signing in (password, then a TOTP code or a backup code), one's own account, re-authentication,
and floor screens (register, revoke, unlock with a PIN, lock)."""

import django_otp
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vigil.accounts import actions, twofactor
from vigil.accounts.forms import (
    CodeForm,
    ConfirmCodeForm,
    LoginForm,
    PinForm,
    ReauthForm,
    ScreenForm,
    UnlockForm,
)
from vigil.accounts.middleware import allow, floor_screen, personal, public, signing_in
from vigil.accounts.models import FloorScreen
from vigil.accounts.reauth import recent_auth
from vigil.accounts.roles import ALL, MANAGERS
from vigil.accounts.screens import set_screen_cookie, unlocked_staff
from vigil.accounts.sessions import wall_clock
from vigil.sites.access import sites_for


@public
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@public
class LogoutView(auth_views.LogoutView):
    pass


def _next(request, default: str = "/") -> str:
    url = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return default


def _credentials(user) -> dict:
    return {"username": user.get_username()}


def _locked_out(request, user):
    """Too many wrong passwords or codes for this name and address: sign out, say so."""
    credentials = _credentials(user)
    logout(request)
    return get_lockout_response(request, credentials=credentials)


def _count_failure(request, user) -> bool:
    """Count a wrong code with django-axes, like a wrong password; True once locked out."""
    user_login_failed.send(sender=__name__, credentials=_credentials(user), request=request)
    return AxesProxyHandler.is_locked(request, _credentials(user))


def _verified(request, device) -> None:
    django_otp.login(request, device)
    request.session.cycle_key()
    request.session[twofactor.VERIFIED_AT] = wall_clock().timestamp()
    AxesProxyHandler.reset_attempts(username=request.user.get_username())
    actions.audit(
        "session.second_factor",
        actor=request.user,
        subject=request.user,
        device=device.persistent_id.split(".")[1].split("/")[0],
    )


@signing_in
def two_factor(request):
    """The second step of signing in: a code from the app, or a backup code."""
    user = request.user
    if not twofactor.requires_two_factor(user) or user.is_verified():
        return redirect(_next(request))
    if not twofactor.has_second_factor(user):
        return redirect(reverse("two-factor-enrol") + "?" + request.GET.urlencode())
    if AxesProxyHandler.is_locked(request, _credentials(user)):
        return _locked_out(request, user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = twofactor.match_second_factor(user, form.cleaned_data["code"])
        if device is not None:
            _verified(request, device)
            if device.persistent_id.startswith("accounts.backupcodes"):
                left = device.remaining  # type: ignore[attr-defined]
                messages.warning(
                    request,
                    _("Backup code used: %(n)s left. Make new ones on your account page.")
                    % {"n": left},
                )
            return redirect(_next(request))
        if _count_failure(request, user):
            return _locked_out(request, user)
        form.add_error("code", _("That code is wrong or has expired."))
    return render(
        request,
        "accounts/two_factor.html",
        {"form": form, "next": _next(request)},
        status=400 if form.errors else 200,
    )


@signing_in
def two_factor_enrol(request):
    """First sign-in: link an authenticator app (QR code or typed secret), confirm with a code,
    and receive ten backup codes, shown once."""
    user = request.user
    if not twofactor.requires_two_factor(user) or user.is_verified():
        return redirect(_next(request))
    if twofactor.has_second_factor(user):
        return redirect(reverse("two-factor") + "?" + request.GET.urlencode())
    if AxesProxyHandler.is_locked(request, _credentials(user)):
        return _locked_out(request, user)
    device = twofactor.pending_totp(user)
    form = ConfirmCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].replace(" ", "")):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            _verified(request, device)
            codes = twofactor.issue_backup_codes(user)
            actions.audit("session.enrolled", actor=user, subject=user)
            return render(
                request, "accounts/backup_codes.html", {"codes": codes, "next": _next(request)}
            )
        if _count_failure(request, user):
            return _locked_out(request, user)
        form.add_error("code", _("That code is wrong or has expired."))
    return render(
        request,
        "accounts/enrol.html",
        {
            "form": form,
            "qr": twofactor.qr_svg(twofactor.otpauth_url(device)),
            "secret": twofactor.base32_secret(device),
            "next": _next(request),
        },
        status=400 if form.errors else 200,
    )


@allow(ALL)
@personal
def reauth(request):
    """Password (and code) again, before an export or an administrative change."""
    user = request.user
    with_code = twofactor.requires_two_factor(user)
    if AxesProxyHandler.is_locked(request, _credentials(user)):
        return _locked_out(request, user)
    form = ReauthForm(request.POST or None, with_code=with_code)
    if request.method == "POST" and form.is_valid():
        device = None
        ok = user.check_password(form.cleaned_data["password"])
        if ok and with_code:
            device = twofactor.match_second_factor(user, form.cleaned_data["code"])
            ok = device is not None
        if ok:
            request.session[twofactor.VERIFIED_AT] = wall_clock().timestamp()
            actions.audit("session.reauthenticated", actor=user, subject=user)
            return redirect(_next(request))
        if _count_failure(request, user):
            return _locked_out(request, user)
        form.add_error(None, _("Wrong password or code."))
    return render(
        request,
        "accounts/reauth.html",
        {"form": form, "next": _next(request)},
        status=400 if form.errors else 200,
    )


def _account_page(request, pin_form, status=200):
    from vigil.accounts.models import BackupCodes

    user = request.user
    backup = BackupCodes.objects.filter(user=user).first()
    return render(
        request,
        "accounts/account.html",
        {
            "pin_form": pin_form,
            "has_pin": bool(user.pin_hash),
            "two_factor": twofactor.has_second_factor(user),
            "needs_two_factor": twofactor.requires_two_factor(user),
            "backup_left": backup.remaining if backup else 0,
        },
        status=status,
    )


@allow(ALL)
@personal
def account(request):
    return _account_page(request, PinForm())


@allow(ALL)
@personal
@require_POST
@recent_auth
def account_pin(request):
    form = PinForm(request.POST)
    if form.is_valid():
        actions.set_pin(request.user, form.cleaned_data["pin"])
        messages.success(request, _("Your floor-screen PIN is set."))
        return redirect("account")
    return _account_page(request, form, status=400)


@allow(ALL)
@personal
@require_POST
@recent_auth
def backup_codes(request):
    """Ten new backup codes (the old ones stop working), shown once."""
    if not twofactor.has_second_factor(request.user):
        raise PermissionDenied
    codes = twofactor.issue_backup_codes(request.user)
    actions.audit("account.backup_codes", actor=request.user, subject=request.user)
    return render(
        request, "accounts/backup_codes.html", {"codes": codes, "next": reverse("account")}
    )


# --- floor screens ------------------------------------------------------------------------


@allow(MANAGERS)
@personal
def screens(request):
    mine = sites_for(request.user)
    return render(
        request,
        "accounts/screens.html",
        {
            "screens": FloorScreen.objects.filter(site__in=mine).select_related(
                "site", "registered_by", "revoked_by"
            ),
            "now": wall_clock(),
        },
    )


@allow(MANAGERS)
@personal
@recent_auth
def screen_register(request):
    """Run on the device itself: it becomes a floor screen and the manager is signed out of it."""
    mine = list(sites_for(request.user))
    form = ScreenForm(request.POST or None, sites=mine)
    if request.method == "POST" and form.is_valid():
        site = next(s for s in mine if s.pk == form.cleaned_data["site"])
        screen, token = actions.register_screen(
            site=site, name=form.cleaned_data["name"], by=request.user
        )
        logout(request)
        response = redirect("floor:board", site_id=site.pk)
        set_screen_cookie(response, token)
        return response
    return render(request, "accounts/screen_register.html", {"form": form})


@allow(MANAGERS)
@personal
@require_POST
@recent_auth
def screen_revoke(request, pk: int):
    screen = get_object_or_404(FloorScreen, pk=pk, site__in=sites_for(request.user))
    actions.revoke_screen(screen, by=request.user, now=wall_clock())
    messages.success(request, _("%(name)s no longer works as a floor screen.") % {"name": screen})
    return redirect("screens")


def _screen(request) -> FloorScreen:
    screen = getattr(request, "floor_screen", None)
    if screen is None:
        raise PermissionDenied
    return screen


@floor_screen
def screen_unlock(request):
    """A nurse (or anyone on the floor) unlocks personal actions on this screen with a PIN."""
    screen = _screen(request)
    people = list(actions.unlockers(screen))
    form = UnlockForm(request.POST or None, people=people)
    back = _next(request, reverse("floor:board", args=[screen.site_id]))
    if request.method == "POST" and form.is_valid():
        try:
            actions.unlock(
                screen, form.cleaned_data["staff"], form.cleaned_data["pin"], wall_clock()
            )
        except actions.PinError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(back)
    return render(
        request,
        "accounts/unlock.html",
        {"form": form, "screen": screen, "next": back, "people": people},
        status=400 if form.errors else 200,
    )


@floor_screen
@require_POST
def screen_lock(request):
    screen = _screen(request)
    actions.lock(screen)
    return redirect("floor:board", site_id=screen.site_id)


def screen_context(request) -> dict:
    """For templates: the floor screen this page is shown on and who unlocked it, if anyone."""
    screen = getattr(request, "floor_screen", None)
    if screen is None:
        return {}
    return {
        "floor_screen": screen,
        "screen_person": unlocked_staff(screen, wall_clock()),
    }
