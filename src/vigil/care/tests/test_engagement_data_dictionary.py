"""docs/data-dictionary.md names every table and every field Vigil keeps."""

import re
from pathlib import Path

from django.apps import apps

DOC = Path(__file__).resolve().parents[4] / "docs" / "data-dictionary.md"
APPS = {"accounts", "sites", "participants", "floor", "monitoring", "care", "research", "api"}


def sections() -> dict[str, str]:
    text = DOC.read_text()
    parts = re.split(r"^### (\w+) \(`\w+`\)\s*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_every_model_and_field_is_in_the_data_dictionary():
    documented = sections()
    missing = []
    for model in apps.get_models():
        if model._meta.app_label not in APPS:
            continue
        name = model.__name__
        if name not in documented:
            missing.append(f"{model._meta.app_label}.{name} (whole model)")
            continue
        words = set(re.findall(r"\w+", documented[name]))
        for field in model._meta.get_fields():
            if field.auto_created and not field.concrete:
                continue  # reverse relations are documented on the other side
            if field.name != "id" and field.name not in words:
                missing.append(f"{model._meta.app_label}.{name}.{field.name}")
    assert not missing, f"add these to docs/data-dictionary.md: {missing}"


def test_every_indicator_the_reports_use_has_a_formula():
    text = DOC.read_text()
    for indicator in (
        "Visits",
        "Unique participants",
        "New participants",
        "Overdoses",
        "Overdoses with naloxone",
        "EMS calls",
        "Referrals by type",
        "Accepted referrals",
        "Treatment entries",
    ):
        assert f"| **{indicator}**" in text, indicator
