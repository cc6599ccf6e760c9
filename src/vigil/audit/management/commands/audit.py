import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from vigil.audit import log


class Command(BaseCommand):
    help = (
        "The tamper-evident audit log. `vigil audit verify` walks the hash chain and exits 0 "
        "when it is intact, 1 naming the first bad entry; `vigil audit export -o FILE` ships "
        "a copy (JSON Lines with the hashes) that `vigil audit verify --file FILE` can check "
        "elsewhere with the same key."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser(
            "verify",
            help="verify the chain in the database (or an exported copy with --file)",
        )
        verify.add_argument("--file", help="verify this exported copy instead of the database")
        export = sub.add_parser("export", help="write the log as JSON Lines with its hashes")
        export.add_argument(
            "-o", "--output", required=True, help="file to write ('-' for standard output)"
        )
        export.add_argument(
            "--since",
            type=int,
            default=0,
            metavar="SEQ",
            help="only entries after SEQ (the last one already shipped)",
        )

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_verify(self, file=None, **_):
        if file:
            try:
                with open(file, encoding="utf-8") as handle:
                    result = log.verify_export(handle)
            except (OSError, ValueError) as exc:
                raise CommandError(f"{file}: {exc}") from exc
            where = file
        else:
            result = log.verify_database()
            where = "audit log"
        for note in result.notes:
            self.stderr.write(note)
        if result.ok:
            self.stdout.write(f"{where}: {result.summary()}")
            return
        self.stderr.write(f"{where}: {result.summary()}")
        if not file and result.problem is not None and result.problem.kind in ("truncated", "head"):
            self.stderr.write(
                "If the database was restored from a backup on purpose, the entries after the "
                f"backup are gone: move {log.head_path()} aside and the next change writes a new "
                "head (docs/audit.md)."
            )
        sys.exit(1)

    def do_export(self, output, since, **_):
        if since < 0:
            raise CommandError("--since is a sequence number (0 or more).")
        # The copy holds who opened which record: exporting it is itself recorded, first, so the
        # copy carries its own entry.
        with transaction.atomic():
            log.record(
                "audit.export",
                detail={"since": since, "to": "stdout" if output == "-" else Path(output).name},
            )
        if output == "-":
            count, first, last = log.export(self.stdout, since)
            self.stdout.flush()
            self.stderr.write(f"exported {count} entries (seq {first}–{last})")
            return
        path = Path(output)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                count, first, last = log.export(handle, since)
            os.replace(temporary, path)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise CommandError(f"{output}: {exc}") from exc
        self.stdout.write(f"exported {count} entries (seq {first}–{last}) to {path}")
