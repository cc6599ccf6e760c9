"""The default lists a new site starts with; each site edits its own (CareSettings)."""

from django.utils.translation import gettext_lazy as _

DEFAULT_SERVICES = [
    ("wound_care", _("Wound care")),
    ("vein_care", _("Vein care")),
    ("testing", _("Testing (HIV, hepatitis C, STI)")),
    ("counselling", _("Counselling")),
    ("naloxone_training", _("Naloxone training")),
    ("basic_needs", _("Basic needs (food, clothing, shower)")),
    ("other", _("Other")),
]

DEFAULT_SUPPLIES = [
    ("syringe_05ml", _("Syringe 0.5 ml")),
    ("syringe_1ml", _("Syringe 1 ml")),
    ("syringe_3ml", _("Syringe 3 ml")),
    ("cooker", _("Cooker")),
    ("filter", _("Filter")),
    ("pipe", _("Pipe (inhalation kit)")),
    ("naloxone_nasal", _("Naloxone kit, nasal")),
    ("naloxone_injectable", _("Naloxone kit, injectable")),
    ("fentanyl_strip", _("Fentanyl test strip")),
    ("xylazine_strip", _("Xylazine test strip")),
    ("other", _("Other")),
]

# Items a site takes back (counted as returned, not given).
RETURNABLE = {"syringe_05ml", "syringe_1ml", "syringe_3ml"}

DEFAULT_POTENT = ["fentanyl", "carfentanil", "nitazene", "xylazine", "medetomidine"]


def services_for(site) -> list[tuple[str, str]]:
    settings = getattr(site, "care_settings", None)
    return _pairs(settings.services if settings and settings.services else None, DEFAULT_SERVICES)


def supplies_for(site) -> list[tuple[str, str]]:
    settings = getattr(site, "care_settings", None)
    return _pairs(settings.supplies if settings and settings.supplies else None, DEFAULT_SUPPLIES)


def _pairs(custom, default) -> list[tuple[str, str]]:
    """A site's list is stored as [["code", "Label"], ...] or ["code", ...]."""
    if not custom:
        return [(code, str(label)) for code, label in default]
    pairs = []
    for entry in custom:
        if isinstance(entry, str):
            pairs.append((entry, entry.replace("_", " ").capitalize()))
        else:
            pairs.append((str(entry[0]), str(entry[1])))
    return pairs
