from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from vigil.lib import clock
from vigil.reports import exports
from vigil.reports.indicators import Period
from vigil.reports.report import build
from vigil.sites.models import Jurisdiction, Site


class Command(BaseCommand):
    help = (
        "Write a monthly report (Health Canada's indicator set, small counts hidden): "
        'vigil report monthly (--site "Seattle CHEL" | --jurisdiction "Seattle & King County") '
        "--month 2026-10 --format pdf|csv|xlsx|html -o FILE"
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="kind", required=True)
        monthly = sub.add_parser("monthly", help="one site's or one jurisdiction's month")
        scope = monthly.add_mutually_exclusive_group(required=True)
        scope.add_argument("--site", help="the site's name")
        scope.add_argument("--jurisdiction", help="the jurisdiction's name: all of its sites")
        monthly.add_argument("--month", required=True, help="YYYY-MM, e.g. 2026-10")
        monthly.add_argument(
            "--format", dest="fmt", required=True, choices=sorted(exports.FORMATS), help="file type"
        )
        monthly.add_argument(
            "-o",
            "--output",
            required=True,
            help="file to write ('-': standard output, csv and html only)",
        )

    def handle(self, *args, kind, site, jurisdiction, month, fmt, output, **options):
        try:
            period = Period.parse_month(month)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if site:
            try:
                sites = [Site.objects.select_related("jurisdiction").get(name=site)]
            except Site.DoesNotExist as exc:
                names = ", ".join(Site.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(f"No site named {site!r}. Sites: {names}.") from exc
            scope = sites[0].name
        else:
            try:
                found = Jurisdiction.objects.get(name=jurisdiction)
            except Jurisdiction.DoesNotExist as exc:
                names = ", ".join(Jurisdiction.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(
                    f"No jurisdiction named {jurisdiction!r}. Jurisdictions: {names}."
                ) from exc
            sites = list(found.sites.order_by("name"))
            if not sites:
                raise CommandError(f"{found.name} has no sites.")
            scope = found.name
        today = clock.now().astimezone(sites[0].tz).date()
        if period.start > today:
            raise CommandError(
                f"{month} has not started yet (today is {today:%Y-%m-%d} at {sites[0].name})."
            )
        if output == "-" and fmt in ("pdf", "xlsx"):
            raise CommandError(f"A {fmt} file cannot go to standard output: give -o FILE.")
        target = None if output == "-" else Path(output)
        if target is not None and not target.parent.exists():
            raise CommandError(f"No folder {target.parent} to write {target.name} in.")
        report = build(sites, period, scope=scope, protected=True, extracted_at=clock.now())
        body = exports.render(report, fmt)
        from vigil import audit
        from vigil.reports.views import export_detail

        audit.record(
            "report.export",
            site=sites[0] if len(sites) == 1 else None,
            detail=export_detail(report, fmt) | {"via": "command"},
        )
        if target is None:
            self.stdout.write(body.decode("utf-8"), ending="")
            return
        target.write_bytes(body)
        hidden = sum(1 for t in report.tables for r in t.rows for c in r.cells if c.hidden)
        self.stderr.write(
            f"Wrote {target} ({len(body):,} bytes): {scope}, {period.start:%B %Y}, "
            f"{len(report.tables)} tables, {hidden} small or protecting counts hidden."
        )
