from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from vigil.keeping import backup
from vigil.keeping.actions import audit, os_user


class Command(BaseCommand):
    help = (
        "Bring back a backup written by `vigil backup`: the database and the data dir's "
        "secrets. Refuses to replace a database that holds records unless --force. Stop "
        "`vigil serve` first."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="backup file")
        parser.add_argument("--key-file", metavar="PATH", help="the backup key it was made with")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that holds records"
        )
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="only check that the backup opens and is whole; change nothing",
        )

    def handle(self, *args, file, key_file, force, verify_only, **options):
        try:
            key, _created = backup.load_key(backup.key_file_path(key_file), create=False)
            if verify_only:
                manifest = backup.verify(file, key)
                self.stdout.write(
                    f"{file}: whole and readable ({manifest['vendor']}, made "
                    f"{manifest['created']}, {len(manifest['parts'])} parts)."
                )
                return
            manifest = backup.restore(file, key, force=force)
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {exc.filename}") from exc
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            # The backup is older than this Vigil: its schema must catch up before anything
            # (the audit log included) writes to it.
            self.stdout.write(
                f"Restored the database and secrets of the backup made {manifest['created']}. "
                f"It predates {len(pending)} migrations of this Vigil: run `vigil migrate` now."
            )
            return
        with transaction.atomic():
            audit("backup.restore", detail={"by": os_user(), "made": manifest["created"]})
        self.stdout.write(
            f"Restored the database and secrets of the backup made {manifest['created']}."
        )
