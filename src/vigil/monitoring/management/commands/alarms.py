import json

from django.core.management.base import BaseCommand

from vigil.api.api import alarm_out, open_alarms
from vigil.sites.models import Site


class Command(BaseCommand):
    help = "List the open alarms (all sites, or one with --site)."

    def add_arguments(self, parser):
        parser.add_argument("--site", help="only this site")
        parser.add_argument(
            "--json",
            action="store_true",
            help="a JSON list with id, site, place, kind, priority, state, raised_at, acknowledged_at, "
            "acknowledged_by, claimed_at, claimed_by, escalation_level (ISO 8601 times with offset)",
        )

    def handle(self, *args, site=None, **options):
        sites = Site.objects.all()
        if site:
            sites = sites.filter(name=site)
        alarms = [alarm_out(a) for a in open_alarms(sites)]
        if options["json"]:
            self.stdout.write(_dumps(alarms))
            return
        if not alarms:
            self.stdout.write("No open alarms.")
        for a in alarms:
            who = f" by {a['claimed_by']}" if a["claimed_by"] else ""
            self.stdout.write(
                f"{a['id']}\t{a['priority'].upper():<6}\t{a['site']}/{a['place']}\t{a['kind']}\t{a['state']}{who}\t"
                f"raised {a['raised_at'].isoformat(timespec='seconds')}\tlevel {a['escalation_level']}"
            )


def _dumps(rows) -> str:
    return json.dumps(rows, default=lambda v: v.isoformat(), indent=2)
