"""A study over Vigil's own records: `[vigil]` names a site or a jurisdiction and the period.

```toml
title = "Seattle CHEL, first year"
[vigil]
site = "Seattle CHEL"          # or: jurisdiction = "Seattle & King County"
from = 2026-01-01              # optional; default: the first visit at those sites
to = 2026-12-31                # optional; default: today
[[analysis]]
name = "reach"
method = "reach"
```
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import DatabaseError
from django.db.models import Min

from vigil.lib import clock
from vigil.research.errors import Problem, StudyError, raise_if
from vigil.research.records import RECORD_METHODS
from vigil.research.records.scope import Scope

TOP_KEYS = ("title", "description", "vigil", "analysis")
VIGIL_KEYS = ("site", "jurisdiction", "from", "to")
ANALYSIS_KEYS = ("name", "method")


@dataclass(frozen=True)
class RecordAnalysis:
    name: str
    method: str
    options: dict[str, Any]


@dataclass
class RecordsStudy:
    path: Path | None
    file: str
    title: str
    description: str | None
    scope: Scope
    analyses: list[RecordAnalysis]
    inputs: dict[str, str] = field(default_factory=dict)


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip())
    raise ValueError(f"{value!r} is not a date")


def resolve_scope(
    file: str,
    *,
    site: str | None = None,
    jurisdiction: str | None = None,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    line: int | None = None,
) -> Scope:
    """The scope named by a study or a form; problems are reported like any other."""
    from vigil.sites.models import Jurisdiction, Site

    if (site is None) == (jurisdiction is None):
        raise StudyError(Problem(file, "[vigil] names either a site or a jurisdiction", line=line))
    if site is not None:
        sites = list(Site.objects.filter(name=site))
        if not sites:
            known = ", ".join(Site.objects.values_list("name", flat=True)) or "none"
            raise StudyError(
                Problem(file, f"[vigil] site: no site named '{site}'; sites: {known}", line=line)
            )
        kind, label = "site", site
    else:
        found = Jurisdiction.objects.filter(name=jurisdiction).first()
        if found is None:
            known = ", ".join(Jurisdiction.objects.values_list("name", flat=True)) or "none"
            raise StudyError(
                Problem(
                    file,
                    f"[vigil] jurisdiction: no jurisdiction named '{jurisdiction}'; "
                    f"jurisdictions: {known}",
                    line=line,
                )
            )
        sites = list(found.sites.order_by("pk"))
        if not sites:
            raise StudyError(
                Problem(file, f"jurisdiction '{jurisdiction}' has no sites", line=line)
            )
        kind, label = "jurisdiction", f"{found.name} ({len(sites)} sites)"
    return scope_for(sites, kind, label, first_day, last_day, file=file, line=line)


def scope_for(
    sites: list,
    kind: str,
    label: str,
    first_day: dt.date | None,
    last_day: dt.date | None,
    *,
    file: str = "study",
    line: int | None = None,
) -> Scope:
    """The scope over `sites` (Site objects, the first setting the calendar)."""
    from vigil.floor.models import Visit

    now = clock.now()
    tz = sites[0].tz
    today = now.astimezone(tz).date()
    if first_day is None:
        first = Visit.objects.filter(site__in=sites).aggregate(first=Min("checked_in_at"))["first"]
        first_day = first.astimezone(tz).date() if first else today
    last_day = last_day or today
    problems = []
    if first_day > last_day:
        problems.append(
            Problem(file, f"[vigil] from {first_day} is after to {last_day}", line=line)
        )
    if first_day > today:
        problems.append(
            Problem(
                file, f"[vigil] from {first_day} is in the future (today is {today})", line=line
            )
        )
    raise_if(problems)
    return Scope(
        label=label,
        kind=kind,
        site_ids=tuple(s.pk for s in sites),
        site_names=tuple(s.name for s in sites),
        time_zone=sites[0].time_zone,
        first_day=first_day,
        last_day=last_day,
        now=now,
    )


def check_analyses(reader, analyses: Any) -> list[RecordAnalysis]:
    checked: list[RecordAnalysis] = []
    if not isinstance(analyses, list) or not analyses:
        reader.add("at least one [[analysis]] table is required (name, method)")
        return checked
    names: dict[str, int] = {}
    for i, table in enumerate(analyses, start=1):
        if not isinstance(table, dict):
            reader.add(f"analysis {i} must be a table ([[analysis]])")
            continue
        name = reader.text(table, "name", "analysis", required=False, index=i)
        if name is None:
            reader.add(f"[[analysis]] {i} needs a name", "analysis", index=i)
            continue
        if name in names:
            reader.add(
                f"duplicate analysis name '{name}' (also analysis {names[name]}); names must be "
                "unique within a study",
                "analysis",
                "name",
                i,
            )
            continue
        names[name] = i
        method = table.get("method")
        spec = RECORD_METHODS.get(method) if isinstance(method, str) else None
        if spec is None:
            problem = "needs a method" if method is None else f"unknown method {method!r}"
            reader.add(
                f"analysis '{name}': {problem}; a study over Vigil's records ([vigil]) takes "
                f"{', '.join(RECORD_METHODS)} (the community mortality methods need [data])",
                "analysis",
                "method" if "method" in table else None,
                i,
            )
            continue
        options = {}
        for key, value in table.items():
            if key in ANALYSIS_KEYS:
                continue
            check = spec.options.get(key)
            if check is None:
                allowed = ", ".join([*ANALYSIS_KEYS, *spec.options])
                reader.add(
                    f"analysis '{name}': unknown option '{key}' for {method}; allowed: {allowed}",
                    "analysis",
                    key,
                    i,
                )
                continue
            try:
                options[key] = check(value)
            except ValueError as exc:
                reader.add(f"analysis '{name}': {key} {exc}", "analysis", key, i)
        checked.append(RecordAnalysis(name=name, method=spec.name, options=options))
    return checked


def load_records_study(path: Path, file: str, doc: dict[str, Any], reader) -> RecordsStudy:
    """Check a parsed study file that has a [vigil] table (see `study.load_study`)."""
    reader.unknown_keys(doc, TOP_KEYS, "")
    if "data" in doc or "intervention" in doc:
        reader.add(
            "a study over Vigil's records ([vigil]) has no [data] or [intervention]: write a "
            "separate study file for the community mortality analyses",
            "data" if "data" in doc else "intervention",
        )
    title = reader.text(doc, "title", "", required=True)
    description = reader.text(doc, "description", "", required=False)
    table = doc.get("vigil")
    if not isinstance(table, dict):
        reader.add("[vigil] must be a table (site or jurisdiction; from, to optional)", "vigil")
        table = {}
    reader.unknown_keys(table, VIGIL_KEYS, "vigil")
    site = reader.text(table, "site", "vigil", required=False)
    jurisdiction = reader.text(table, "jurisdiction", "vigil", required=False)
    if (site is None) == (jurisdiction is None):
        reader.add("[vigil] names either a site or a jurisdiction (one of them)", "vigil")
    days: dict[str, dt.date | None] = {"from": None, "to": None}
    for key in days:
        if key in table:
            try:
                days[key] = _day(table[key])
            except ValueError:
                reader.add(
                    f"[vigil] {key}: cannot read {table[key]!r} as a date (YYYY-MM-DD)",
                    "vigil",
                    key,
                )
    analyses = check_analyses(reader, doc.get("analysis"))
    raise_if(reader.problems)
    assert title is not None
    try:
        scope = resolve_scope(
            file,
            site=site,
            jurisdiction=jurisdiction,
            first_day=days["from"],
            last_day=days["to"],
            line=reader.lines.of("vigil"),
        )
    except DatabaseError as exc:
        raise StudyError(
            Problem(
                file,
                f"[vigil]: cannot read Vigil's records ({exc}); is VIGIL_DATA_DIR or "
                "DATABASE_URL set, and the database migrated (vigil migrate)?",
                line=reader.lines.of("vigil"),
            )
        ) from exc
    return RecordsStudy(
        path=path,
        file=file,
        title=title,
        description=description,
        scope=scope,
        analyses=analyses,
        inputs={path.name: hashlib.sha256(path.read_bytes()).hexdigest()},
    )
