import time

from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from vigil.accounts import demo
from vigil.accounts.twofactor import current_code


class Command(BaseCommand):
    help = (
        "Print the current two-factor code of each demo login (the demo only: refuses for a "
        "data dir that `vigil seed-demo` did not make)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--watch", action="store_true", help="print fresh codes every 30 seconds until Ctrl-C"
        )

    def handle(self, *args, watch, **options):
        if not demo.is_demo_data_dir():
            raise CommandError(
                "This is not a demo data dir: codes are printed only for the synthetic demo "
                "(vigil seed-demo). A real account's code comes from its owner's phone."
            )
        devices = list(
            TOTPDevice.objects.filter(name=demo.DEVICE_NAME, confirmed=True)
            .select_related("user")
            .order_by("user__username")
        )
        if not devices:
            raise CommandError("No demo logins here: run `vigil seed-demo` first.")
        while True:
            left = 30 - int(time.time()) % 30
            self.stdout.write(f"Codes for the next {left} s (then the next ones):")
            for device in devices:
                self.stdout.write(f"  {device.user.username:<12} {current_code(device)}")
            if not watch:
                return
            self.stdout.flush()
            time.sleep(left)
