from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from vigil.sites.actions import SiteError, add_places, create_site, parse_labels
from vigil.sites.models import PlaceKind, Site

SETTINGS = {
    "check_interval": "check_interval_place_minutes",
    "aftercare_check_interval": "check_interval_aftercare_minutes",
    "check_grace": "check_grace_minutes",
    "occupancy_limit": "occupancy_limit_minutes",
}


class Command(BaseCommand):
    help = "Set up sites and their places: vigil site add | places | set | list."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a site")
        add.add_argument("name")
        add.add_argument("--jurisdiction", required=True, help="created if it does not exist")
        add.add_argument("--time-zone", default="America/Los_Angeles")
        places = sub.add_parser(
            "places", help="add places to a site, e.g. --booth B1-B10 --aftercare A1-A6"
        )
        places.add_argument("name")
        for kind in PlaceKind.values:
            places.add_argument(f"--{kind}", metavar="LABELS", help=f"{kind} labels, e.g. X1-X4,X7")
        settings = sub.add_parser("set", help="change a site's supervision settings (minutes)")
        settings.add_argument("name")
        for option in SETTINGS:
            settings.add_argument(f"--{option.replace('_', '-')}", type=int, dest=option)
        settings.add_argument(
            "--deidentify-after-months",
            metavar="N|never",
            help="retention: de-identify participants inactive for N months ('never': keep)",
        )
        sub.add_parser("list", help="list sites and their places")

    def _site(self, name: str) -> Site:
        try:
            return Site.objects.get(name=name)
        except Site.DoesNotExist as exc:
            raise CommandError(f"No site named {name!r}. `vigil site list` shows them.") from exc

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"do_{action}")(**options)
        except (SiteError, ValidationError) as exc:
            raise CommandError("; ".join(getattr(exc, "messages", [str(exc)]))) from exc

    def do_add(self, name, jurisdiction, time_zone, **_):
        site = create_site(jurisdiction=jurisdiction, name=name, time_zone=time_zone)
        self.stdout.write(f"Added {site.name} ({site.jurisdiction}), id {site.pk}.")

    def do_places(self, name, **options):
        site = self._site(name)
        added = 0
        for kind in PlaceKind.values:
            if options.get(kind):
                added += len(add_places(site, kind, parse_labels(options[kind])))
        if not added:
            raise CommandError("Name some places, e.g. --booth B1-B10.")
        self.stdout.write(f"{site.name}: {added} places added.")

    def do_set(self, name, **options):
        site = self._site(name)
        for option, field in SETTINGS.items():
            if options.get(option) is not None:
                setattr(site, field, options[option])
        months = options.get("deidentify_after_months")
        if months is not None:
            if months.strip().lower() == "never":
                site.deidentify_after_months = None
            elif months.strip().isdigit():
                site.deidentify_after_months = int(months)
            else:
                raise CommandError("--deidentify-after-months takes a number of months or 'never'.")
        site.full_clean()
        site.save()
        self.stdout.write(f"{site.name}: settings saved.")

    def do_list(self, **_):
        for site in Site.objects.select_related("jurisdiction").prefetch_related("places"):
            labels = " ".join(p.label for p in site.places.all())
            self.stdout.write(
                f"{site.pk}\t{site.name}\t{site.jurisdiction}\t{site.time_zone}\t"
                f"check every {site.check_interval_place_minutes} min, "
                f"limit {site.occupancy_limit_minutes} min, "
                f"de-identify after {site.deidentify_after_months or 'never'}"
                f"{' months' if site.deidentify_after_months else ''}\t{labels}"
            )
