from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from vigil.keeping import backup
from vigil.keeping.actions import audit, os_user


class Command(BaseCommand):
    help = (
        "Write an encrypted, verified backup of the database and the data dir's secrets. "
        "The backup key is kept apart from the data dir (--key-file, $VIGIL_BACKUP_KEY_FILE or "
        "~/.config/vigil/backup.key, created on first use). See docs/data-at-rest.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", required=True, metavar="FILE", help="backup file")
        parser.add_argument("--key-file", metavar="PATH", help="the backup key")

    def handle(self, *args, output, key_file, **options):
        try:
            path = backup.key_file_path(key_file)
            key, created = backup.load_key(path, create=True)
            if created:
                self.stderr.write(
                    f"Created a new backup key in {path}. Store a copy of it somewhere other "
                    "than this machine (a password manager, a sealed envelope): without it no "
                    "backup can be restored."
                )
            result = backup.write_backup(output, key)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        with transaction.atomic():
            audit(
                "backup.write",
                detail={"by": os_user(), "key_id": result.key_id, "size": result.size},
            )
        for name in result.env_secrets:
            self.stderr.write(
                f"Warning: {name} is set in the environment, so it is not in the backup; keep "
                "it with the backup key."
            )
        self.stdout.write(
            f"Backup written and verified: {result.path} ({result.size} bytes, "
            f"{result.vendor}, {len(result.parts)} parts, backup key {result.key_id})."
        )
