from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from vigil.keeping import keys
from vigil.keeping.actions import audit, os_user
from vigil.lib import crypto


class Command(BaseCommand):
    help = (
        "The key ring of the encrypted fields: vigil keys status | rotate [--retire-old] "
        "[--resume]. See docs/data-at-rest.md."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="keys in the ring and how many values each field holds")
        rotate = sub.add_parser(
            "rotate",
            help="add a new key and re-encrypt every encrypted value with it (safe to run "
            "while the server runs, and to run again after an interruption)",
        )
        rotate.add_argument(
            "--retire-old",
            action="store_true",
            help="afterwards drop the old keys from the ring (once no value needs them)",
        )
        rotate.add_argument(
            "--resume",
            action="store_true",
            help="do not add a key: finish re-encrypting with the newest key",
        )
        rotate.add_argument(
            "--batch", type=int, default=100, help="rows per transaction (default 100)"
        )

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"do_{action}")(**options)
        except crypto.KeyRingError as exc:
            raise CommandError(str(exc)) from exc

    def do_status(self, **_):
        ring = crypto.ring()
        source = crypto.ENV if ring.from_env else str(crypto.ring_path())
        self.stdout.write(f"Key ring: {source}")
        for n, key in enumerate(ring.keys):
            role = "encrypts and decrypts" if n == 0 else "decrypts only"
            self.stdout.write(f"  {key.id}\tadded {key.added or '?'}\t{role}")
        for t in keys.tally():
            extra = f", {t.plaintext} PLAINTEXT" if t.plaintext else ""
            self.stdout.write(
                f"  {t.label}: {t.values} values, {t.under_newest} under the newest key{extra}"
            )

    def do_rotate(self, retire_old, resume, batch, **_):
        if batch < 1:
            raise CommandError("--batch must be at least 1.")

        def progress(label, seen, changed):
            self.stdout.write(f"  {label}: {changed} of {seen} values re-encrypted")

        result = keys.rotate(retire_old=retire_old, resume=resume, batch=batch, progress=progress)
        with transaction.atomic():
            audit(
                "keys.rotate",
                detail={
                    "by": os_user(),
                    "new_key": result.new_key,
                    "reencrypted": sum(result.reencrypted.values()),
                    "retired": result.retired,
                },
            )
        if result.new_key:
            self.stdout.write(f"New key {result.new_key} encrypts from now on.")
        if result.retired:
            self.stdout.write(f"Retired: {', '.join(result.retired)}.")
        self.stdout.write("Back up now: older backups hold the old key ring, not the new key.")
