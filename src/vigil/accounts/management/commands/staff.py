import getpass
import sys

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from vigil.accounts.models import Staff
from vigil.accounts.roles import Role
from vigil.sites.models import Site


class Command(BaseCommand):
    help = "Manage staff accounts: vigil staff add | list | token | reset-two-factor."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a member of staff")
        add.add_argument("username")
        add.add_argument("--role", required=True, choices=Role.values)
        add.add_argument(
            "--site", action="append", default=[], help="site name; repeat for several"
        )
        add.add_argument("--first-name", default="")
        add.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        sub.add_parser("list", help="list staff, their roles and sites")
        token = sub.add_parser("token", help="make an API token for an integration acting as USER")
        token.add_argument("username")
        token.add_argument("--name", default="integration", help="what the token is for")
        reset = sub.add_parser(
            "reset-two-factor",
            help="forget USER's authenticator and backup codes (a lost phone): they enrol again "
            "at their next sign-in, and their open sessions end",
        )
        reset.add_argument("username")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_add(self, username, role, site, first_name, password_stdin, **_):
        sites = []
        for name in site:
            try:
                sites.append(Site.objects.get(name=name))
            except Site.DoesNotExist as exc:
                raise CommandError(
                    f"No site named {name!r}. `vigil site list` shows them."
                ) from exc
        if Staff.objects.filter(username=username).exists():
            raise CommandError(f"{username!r} already exists.")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
        member = Staff(username=username, role=role, first_name=first_name)
        try:
            validate_password(password, member)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        with transaction.atomic():
            member.set_password(password)
            member.is_staff = member.is_superuser = role == Role.ADMINISTRATOR
            member.save()
            member.sites.set(sites)
        self.stdout.write(f"Added {username} ({Role(role).label}).")

    def do_list(self, **_):
        for member in Staff.objects.prefetch_related("sites").order_by("username"):
            sites = ", ".join(s.name for s in member.sites.all()) or "-"
            state = "" if member.is_active else " (inactive)"
            self.stdout.write(f"{member.username}\t{member.get_role_display()}{state}\t{sites}")

    def do_token(self, username, name, **_):
        from vigil.accounts.models import ApiToken

        member = Staff.objects.filter(username=username, is_active=True).first()
        if member is None:
            raise CommandError(f"No active staff member {username!r}.")
        _token_row, token = ApiToken.issue(member, name)
        self.stdout.write(f"API token for {username} ({name}), shown once: {token}")

    def do_reset_two_factor(self, username, **_):
        from django.contrib.sessions.models import Session
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from vigil.accounts.actions import audit
        from vigil.accounts.models import BackupCodes

        member = Staff.objects.filter(username=username).first()
        if member is None:
            raise CommandError(f"No staff member {username!r}.")
        with transaction.atomic():
            TOTPDevice.objects.filter(user=member).delete()
            BackupCodes.objects.filter(user=member).delete()
            ended = 0
            for session in Session.objects.all().iterator():
                if session.get_decoded().get("_auth_user_id") == str(member.pk):
                    session.delete()
                    ended += 1
            audit("account.two_factor_reset", subject=member)
        self.stdout.write(
            f"{username}'s authenticator and backup codes are forgotten ({ended} sessions "
            "ended); they set up a new one at their next sign-in."
        )
