"""Setting up jurisdictions, sites and their places."""

from django.db import transaction

from vigil.sites.models import Jurisdiction, Place, PlaceKind, Site


class SiteError(Exception):
    pass


def parse_labels(spec: str) -> list[str]:
    """'B1-B10' -> B1..B10; 'W1' -> [W1]; 'A1-A6,A9' -> A1..A6, A9."""
    labels: list[str] = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if "-" not in part:
            labels.append(part)
            continue
        first, last = (x.strip() for x in part.split("-", 1))
        prefix = first.rstrip("0123456789")
        if not prefix or last.rstrip("0123456789") not in ("", prefix):
            raise SiteError(f"Cannot read the range {part!r}: write it like B1-B10.")
        start, end = int(first[len(prefix) :]), int(last.lstrip(prefix))
        if end < start or end - start > 200:
            raise SiteError(f"The range {part!r} is empty or too long.")
        labels.extend(f"{prefix}{n}" for n in range(start, end + 1))
    return labels


def create_site(
    *, jurisdiction: str, name: str, time_zone: str = "America/Los_Angeles", **settings
) -> Site:
    with transaction.atomic():
        jur, _ = Jurisdiction.objects.get_or_create(name=jurisdiction)
        site = Site(jurisdiction=jur, name=name, time_zone=time_zone, **settings)
        site.full_clean()
        site.save()
        return site


def add_places(site: Site, kind: str, labels: list[str]) -> list[Place]:
    if kind not in PlaceKind.values:
        raise SiteError(f"Unknown kind {kind!r}; choose from {', '.join(PlaceKind.values)}.")
    existing = set(site.places.values_list("label", flat=True))
    clash = [label for label in labels if label in existing]
    if clash:
        raise SiteError(f"{site.name} already has {', '.join(clash)}.")
    start = (site.places.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    return Place.objects.bulk_create(
        [
            Place(site=site, label=label, kind=kind, position=start + i)
            for i, label in enumerate(labels)
        ]
    )
