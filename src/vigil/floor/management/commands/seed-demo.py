import random

from django.core.management.base import BaseCommand

from vigil.accounts import demo as demo_logins
from vigil.care.demo_engagement import seed_engagement
from vigil.care.demo_events import seed_events
from vigil.floor import demo
from vigil.lib import clock
from vigil.reports.demo_history import seed_history
from vigil.sites.models import Jurisdiction


class Command(BaseCommand):
    help = (
        "Create the demo jurisdiction (Seattle & King County), its two sites, staff logins and "
        "weeks of synthetic history. Does nothing if the demo jurisdiction already exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=21, help="days of history (default 21)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")

    def handle(self, *args, days, seed, **options):
        if Jurisdiction.objects.filter(name=demo.JURISDICTION).exists():
            closed = demo.refresh_floor()
            if closed:
                self.stdout.write(
                    f"The demo data is already there; {closed} stale visits closed and a fresh floor set up."
                )
            else:
                self.stdout.write("The demo data is already there.")
        else:
            made = demo.seed(days=days, seed=seed)
            now = clock.now()
            events = seed_events(made.sites, now, random.Random(seed + 1))
            engagement = seed_engagement(made.sites, now, random.Random(seed + 2))
            self.stdout.write(
                f"Demo: {len(made.sites)} sites, {made.participants} participants, "
                f"{made.visits} visits, {events} overdose and medical events."
            )
            self.stdout.write(engagement.summary())
            self.stdout.write(
                seed_history(made.sites, now, days, random.Random(seed + 3)).summary()
            )
        demo_logins.prepare_logins([username for username, *_ in demo.STAFF])
        logins = [
            (username, str(role.label), ", ".join(site_names) or "administration")
            for username, _first, role, site_names in demo.STAFF
        ]
        for line in demo_logins.login_lines(logins, demo.DEMO_PASSWORD):
            self.stdout.write(line)
