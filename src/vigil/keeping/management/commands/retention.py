from django.core.management.base import BaseCommand

from vigil.keeping.actions import run_retention


class Command(BaseCommand):
    help = (
        "Apply the sites' retention setting: de-identify participants inactive for longer "
        "than it (code hash, alias and free text go; visits and events stay as anonymous "
        "records). vigil retention run [--dry-run]."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="de-identify the participants who are due")
        run.add_argument(
            "--dry-run", action="store_true", help="say what would be done; change nothing"
        )

    def handle(self, *args, action, dry_run, **options):
        reports = run_retention(dry_run=dry_run)
        verb = "would be de-identified" if dry_run else "de-identified"
        total = 0
        for report in reports:
            total += len(report.due)
            self.stdout.write(
                f"{report.jurisdiction}: {len(report.due)} {verb}, {report.kept} kept"
            )
            for site, count in report.by_site.items():
                self.stdout.write(f"  {site}: {count} {verb}")
        prefix = "Dry run, nothing changed: " if dry_run else ""
        self.stdout.write(f"{prefix}{total} participants {verb} in all.")
