"""`vigil bench-reports`: years of a busy site, then the time of the monthly report, the
dashboard and the CSV export, against a careful analyst's pandas script computing the same
monthly indicators from a CSV export of the same rows (what a manager would otherwise do).

Runs in a throw-away database beside the configured one (`floor.bench.throwaway_database`: a
new SQLite file in the data dir, or a new database on the PostgreSQL server of DATABASE_URL),
so the configured database is never touched. Figures go to docs/performance.md, "Reports".
"""

from __future__ import annotations

import csv
import logging
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse

from vigil.accounts.models import Staff
from vigil.accounts.roles import Role
from vigil.accounts.twofactor import force_verified_login
from vigil.care.models import (
    Intervention,
    InterventionKind,
    MedicalEvent,
    Referral,
    ReferralStep,
    ServiceGiven,
    SupplyGiven,
)
from vigil.floor.bench import machine, throwaway_database
from vigil.floor.models import Occupancy, Visit
from vigil.lib import clock
from vigil.participants.models import AgeBand, Gender, Housing, Participant
from vigil.reports import demo_history, exports
from vigil.reports.indicators import Figures, Period, for_site
from vigil.reports.report import build
from vigil.sites.actions import add_places, create_site, parse_labels
from vigil.sites.models import PlaceKind, Site

Progress = Callable[[str], None]
DAYS_PER_CHUNK = 30
# Insite 2016: 214,898 visits by 8,040 people.
PEOPLE = 8040
AIM_REPORT_S = 2.0
AIM_DASHBOARD_S = 1.0


def run(*, days: int, visits_per_day: int, repeat: int, seed: int, progress: Progress) -> dict:
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # its progress, not ours
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    with throwaway_database() as name:
        progress(f"throw-away {connection.vendor} database {name}")
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            return _run(days, visits_per_day, repeat, seed, progress)


def _run(days: int, visits_per_day: int, repeat: int, seed: int, progress: Progress) -> dict:
    rng = random.Random(seed)
    now = clock.now().replace(microsecond=0)
    site, manager = _site()
    began = time.perf_counter()
    rows = seed_years(site, now, days, visits_per_day, rng, progress)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum would have done by now
    seed_seconds = time.perf_counter() - began
    today = now.astimezone(site.tz).date()
    last = today.replace(day=1) - timedelta(days=1)
    month = Period.month(last.year, last.month)

    def report_html() -> bytes:
        report = build([site], month, scope=site.name, protected=True, extracted_at=now)
        return exports.render(report, "html")

    def report_csv() -> bytes:
        report = build([site], month, scope=site.name, protected=True, extracted_at=now)
        return exports.render(report, "csv")

    def report_pdf() -> bytes:
        report = build([site], month, scope=site.name, protected=True, extracted_at=now)
        return exports.render(report, "pdf")

    client = Client()
    force_verified_login(client, manager)  # password and second factor, as a real sign-in
    dashboard_url = reverse("reports:site", args=[site.pk])

    def dashboard() -> bytes:
        response = client.get(dashboard_url)
        if response.status_code != 200:
            raise RuntimeError(f"dashboard answered {response.status_code}")
        return response.content

    with clock.frozen(now):
        progress(f"timing {repeat} runs each")
        timings = {
            "monthly_report_html": _time(report_html, repeat),
            "monthly_report_pdf": _time(report_pdf, repeat),
            "csv_export": _time(report_csv, repeat),
            "dashboard": _time(dashboard, repeat),
        }
        ours = for_site(site, month, series=False, heat=False)
    progress("exporting the rows to CSV for the analyst")
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        export_rows(site, Path(folder))
        raw_export_s = time.perf_counter() - began
        sizes = {p.name: p.stat().st_size for p in Path(folder).iterdir()}
        progress("timing the analyst's pandas script")
        theirs_box: list[dict] = []

        def analyst() -> None:
            theirs_box.append(pandas_monthly(Path(folder), month, str(site.tz)))

        pandas_timing = _time(analyst, repeat)
    differences = compare(ours, theirs_box[-1])
    report_s = timings["monthly_report_html"]["median_s"]
    return {
        "database": connection.vendor,
        "history_days": days,
        "visits_per_day": visits_per_day,
        "rows": rows,
        "seed_seconds": round(seed_seconds, 1),
        "month": f"{month.start:%Y-%m}",
        "visits_in_month": ours.counts["visits"],
        "timings": timings,
        "pandas_baseline": pandas_timing
        | {"raw_export_s": round(raw_export_s, 2), "csv_bytes": sizes},
        "pandas_agrees": not differences,
        "pandas_differences": differences[:20],
        "aims": {
            "monthly_report_s": AIM_REPORT_S,
            "dashboard_s": AIM_DASHBOARD_S,
            "met": {
                "monthly_report_within_2s": report_s <= AIM_REPORT_S,
                "monthly_report_not_slower_than_pandas": report_s <= pandas_timing["median_s"],
                "dashboard_within_1s": timings["dashboard"]["median_s"] <= AIM_DASHBOARD_S,
            },
        },
        # Other work on the machine shows in the timings; the load average says how much.
        "machine": machine() | {"load_1m_at_end": round(os.getloadavg()[0], 2)},
    }


def _time(work: Callable[[], Any], repeat: int) -> dict:
    """Median and best of `repeat` runs after one warm-up, with the SQL queries of one run
    (counted by an execute wrapper: a request resets Django's own query log)."""
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        work()
    seconds = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - began)
    return {
        "median_s": round(statistics.median(seconds), 3),
        "best_s": round(min(seconds), 3),
        "queries": len(queries),
    }


def _site() -> tuple[Site, Staff]:
    site = create_site(
        jurisdiction="Bench County", name="Bench CHEL", time_zone="America/Vancouver"
    )
    add_places(site, PlaceKind.BOOTH, parse_labels("B1-B13"))
    add_places(site, PlaceKind.INHALATION, parse_labels("S1-S6"))
    add_places(site, PlaceKind.AFTERCARE, parse_labels("A1-A12"))
    nurse = Staff.objects.create_user(username="bench-nurse", role=Role.NURSE)
    nurse.sites.set([site])
    manager = Staff.objects.create_user(username="bench-manager", role=Role.SITE_MANAGER)
    manager.sites.set([site])
    return site, manager


def seed_years(
    site: Site,
    now: datetime,
    days: int,
    visits_per_day: int,
    rng: random.Random,
    progress: Progress,
) -> dict[str, int]:
    """`days` days up to yesterday of about `visits_per_day` visits with their occupancies,
    events, services, supplies and referrals (the rows the actions would write).

    The most recent year (at most) is generated visit by visit and written with bulk_create;
    older years are copies of it moved back by whole years in SQL (INSERT ... SELECT with
    shifted ids and times): the same number and shape of rows per year, in minutes instead of
    the better part of an hour on this machine."""
    generated = min(days, 365)
    rows = _generate(site, now, generated, visits_per_day, rng, progress)
    copies = (days - generated) // 365
    for n in range(1, copies + 1):
        progress(f"  copying the generated year {n} year(s) back")
        _copy_back(n)
    rows["generated_days"] = generated
    rows["copied_years"] = copies
    rows["visits"] = Visit.objects.count()
    rows["occupancies"] = Occupancy.objects.count()
    rows["services"] = ServiceGiven.objects.count()
    rows["supply_rows"] = SupplyGiven.objects.count()
    rows["medical_events"] = MedicalEvent.objects.count()
    rows["referrals"] = Referral.objects.count()
    rows.pop("overdoses", None)
    return rows


# (model, {foreign-key column: model whose ids are shifted}, time columns); in FK order.
COPIED: list[tuple[Any, dict[str, Any], list[str]]] = [
    (Visit, {}, ["checked_in_at", "ended_at"]),
    (Occupancy, {"visit_id": Visit}, ["started_at", "ended_at", "last_check_at"]),
    (
        MedicalEvent,
        {"visit_id": Visit},
        [
            "started_at",
            "ems_called_at",
            "ems_arrived_at",
            "transported_at",
            "created_at",
            "signed_off_at",
        ],
    ),
    (Intervention, {"event_id": MedicalEvent}, ["at", "removed_at"]),
    (ServiceGiven, {"visit_id": Visit}, ["at"]),
    (SupplyGiven, {"visit_id": Visit}, ["at"]),
    (
        Referral,
        {"visit_id": Visit},
        ["referred_at", "accepted_at", "attended_at", "entered_treatment_at", "closed_at"],
    ),
    (ReferralStep, {"referral_id": Referral}, ["at"]),
]


def _copy_back(years: int) -> None:
    """Copy the generated rows (the first `span` ids of each table) `years` × 365 days back,
    with ids shifted by `years` × span so they never collide."""
    days = 365 * years
    with connection.cursor() as cursor, transaction.atomic():
        spans = {}
        for model, _fks, _times in COPIED:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")  # noqa: S608
            spans[model] = cursor.fetchone()[0] // years  # the generated ids: 1..span
        for model, fks, times in COPIED:
            table = model._meta.db_table
            columns = [f.column for f in model._meta.concrete_fields]
            chosen = []
            for column in columns:
                if column == "id":
                    chosen.append(f"id + {spans[model] * years}")
                elif column in fks:
                    chosen.append(f"{column} + {spans[fks[column]] * years}")
                elif column in times:
                    chosen.append(_shift(column, days))
                else:
                    chosen.append(column)
            quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
            values = ", ".join(
                connection.ops.quote_name(c) if c == x else x
                for c, x in zip(columns, chosen, strict=True)
            )
            cursor.execute(
                f"INSERT INTO {table} ({quoted}) SELECT {values} FROM {table} "  # noqa: S608
                f"WHERE id <= {spans[model]}"
            )
        if connection.vendor == "postgresql":
            for model, _fks, _times in COPIED:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT MAX(id) FROM {table}))"
                )


def _shift(column: str, days: int) -> str:
    if connection.vendor == "postgresql":
        return f"{column} - interval '{days} days'"
    # SQLite keeps Django's text form, 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC; NULL stays NULL.
    return f"strftime('%Y-%m-%d %H:%M:%f', {column}, '-{days} days')"


def _generate(
    site: Site,
    now: datetime,
    days: int,
    visits_per_day: int,
    rng: random.Random,
    progress: Progress,
) -> dict[str, int]:
    tz = site.tz
    first = now.astimezone(tz).date() - timedelta(days=days)
    people = _people(site, rng, datetime.combine(first, datetime.min.time(), tzinfo=tz))
    weights = [min(rng.paretovariate(1.1), 400.0) for _ in people]
    cumulative = []
    total = 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    nurse = Staff.objects.get(username="bench-nurse")
    use_places = list(site.places.exclude(kind=PlaceKind.AFTERCARE))
    seats = list(site.places.filter(kind=PlaceKind.AFTERCARE))
    made = demo_history.History()

    def pick(_at: datetime) -> Participant:
        return rng.choices(people, cum_weights=cumulative)[0]

    began = time.perf_counter()
    for chunk in range(0, days, DAYS_PER_CHUNK):
        planned: list[demo_history.Planned] = []
        for offset in range(chunk, min(chunk + DAYS_PER_CHUNK, days)):
            day = first + timedelta(days=offset)
            count = max(1, int(rng.gauss(visits_per_day, visits_per_day * 0.08)))
            planned += demo_history.plan_day(site, day, count, pick, nurse, rng, use_places)
        demo_history.write(site, planned, seats, nurse, rng, made)
        done = min(chunk + DAYS_PER_CHUNK, days)
        if done % 180 < DAYS_PER_CHUNK or done == days:
            progress(
                f"  {done}/{days} days, {made.visits} visits ({time.perf_counter() - began:.0f} s)"
            )
    return {
        "participants": len(people),
        "visits": made.visits,
        "overdoses": made.overdoses,
        "referrals": made.referrals,
        "services": ServiceGiven.objects.count(),
        "medical_events": MedicalEvent.objects.count(),
    }


def _people(site: Site, rng: random.Random, registered_at: datetime) -> list[Participant]:
    people = [
        Participant(
            jurisdiction_id=site.jurisdiction_id,
            code_hash=f"{rng.getrandbits(256):064x}",  # synthetic: no code behind it
            code_suffix=1,
            alias=f"Bench{n:05d}",
            age_band=rng.choices(AgeBand.values, [2, 22, 33, 24, 14, 5])[0],
            gender=rng.choices(
                [Gender.MAN, Gender.WOMAN, Gender.TRANS_NONBINARY, ""], [64, 28, 4, 4]
            )[0],
            housing=rng.choices(Housing.values, [35, 25, 20, 15, 5])[0],
            oriented_at=registered_at,
            registered_at=registered_at,
            registered_site=site,
        )
        for n in range(PEOPLE)
    ]
    with transaction.atomic():
        Participant.objects.bulk_create(people, batch_size=2000)
    return people


# --- the analyst's way: a CSV export of the rows, then pandas ----------------------------


def export_rows(site: Site, folder: Path) -> None:
    """The rows a manager would export for a spreadsheet or a script: every visit (with the
    person's gender and age band), medical event, referral and service of the site."""
    naloxone = Intervention.objects.filter(
        event_id=OuterRef("pk"), kind=InterventionKind.NALOXONE, removed_at__isnull=True
    )
    tables: dict[str, tuple[list[str], Any]] = {
        "visits.csv": (
            ["participant_id", "checked_in_at", "substances", "route", "gender", "age_band"],
            Visit.objects.filter(site=site)
            .values_list(
                "participant_id",
                "checked_in_at",
                "substances",
                "route",
                "participant__gender",
                "participant__age_band",
            )
            .iterator(chunk_size=5000),
        ),
        "events.csv": (
            ["kind", "started_at", "ems_called_at", "outcome", "naloxone"],
            MedicalEvent.objects.filter(site=site)
            .annotate(naloxone=Exists(naloxone))
            .values_list("kind", "started_at", "ems_called_at", "outcome", "naloxone")
            .iterator(chunk_size=5000),  # naloxone: 1 or 0 on SQLite, True or False on PostgreSQL
        ),
        "referrals.csv": (
            [
                "kind",
                "where",
                "referred_at",
                "accepted_at",
                "entered_treatment_at",
                "direct_from_room",
            ],
            Referral.objects.filter(site=site)
            .values_list(
                "kind",
                "where",
                "referred_at",
                "accepted_at",
                "entered_treatment_at",
                "direct_from_room",
            )
            .iterator(chunk_size=5000),
        ),
        "services.csv": (
            ["service", "at"],
            ServiceGiven.objects.filter(site=site)
            .values_list("service", "at")
            .iterator(chunk_size=5000),
        ),
    }
    for name, (header, rows) in tables.items():
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            for row in rows:
                writer.writerow([_cell(v) for v in row])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def pandas_monthly(folder: Path, month: Period, tz: str) -> dict[str, Any]:
    """A careful analyst's script: only the columns needed, typed on reading, times parsed as
    UTC and converted to the site's time zone, the month cut at local midnights, "new" taken
    from each person's first visit over the whole export, people counted once."""
    import pandas as pd

    start = pd.Timestamp(month.start.isoformat(), tz=tz)
    end = pd.Timestamp(month.end.isoformat(), tz=tz)

    def in_month(series):
        return (series >= start) & (series < end)

    def when(series):
        return pd.to_datetime(series, utc=True, format="ISO8601").dt.tz_convert(tz)

    out: dict[str, Any] = {}
    visits = pd.read_csv(
        folder / "visits.csv",
        dtype={
            "participant_id": "int64",
            "substances": "string",
            "route": "category",
            "gender": "string",
            "age_band": "string",
        },
        keep_default_na=False,
    )
    visits["at"] = when(visits["checked_in_at"])
    first = visits.groupby("participant_id")["at"].min()
    month_visits = visits[in_month(visits["at"])]
    people = month_visits.drop_duplicates("participant_id")
    out["visits"] = len(month_visits)
    out["unique_participants"] = len(people)
    out["new_participants"] = int(in_month(first).sum())
    out["gender"] = people["gender"].value_counts().to_dict()
    out["age_band"] = people["age_band"].value_counts().to_dict()
    out["route"] = month_visits["route"].value_counts().to_dict()
    out["substance"] = month_visits["substances"].str.split(";").explode().value_counts().to_dict()

    events = pd.read_csv(folder / "events.csv", dtype="string", keep_default_na=False)
    events["at"] = when(events["started_at"])
    month_events = events[in_month(events["at"])]
    overdose = month_events["kind"] == "overdose"
    out["overdoses"] = int(overdose.sum())
    naloxone = month_events["naloxone"].isin(["True", "1"])
    out["overdoses_naloxone"] = int((overdose & naloxone).sum())
    out["ems_calls"] = int((month_events["ems_called_at"] != "").sum())
    out["transported"] = int((month_events["outcome"] == "transported").sum())
    out["deaths"] = int((month_events["outcome"] == "death").sum())

    referrals = pd.read_csv(folder / "referrals.csv", dtype="string", keep_default_na=False)
    referred = in_month(when(referrals["referred_at"]))
    accepted = in_month(when(referrals["accepted_at"].replace("", None)))
    entered = in_month(when(referrals["entered_treatment_at"].replace("", None)))
    treatment = referrals["kind"].isin(["buprenorphine", "methadone", "detox", "residential"])
    out["referral"] = referrals.loc[referred, "kind"].value_counts().to_dict()
    out["referrals_off_site"] = int((referred & (referrals["where"] == "off_site")).sum())
    out["referrals_accepted"] = int(accepted.sum())
    out["treatment_entries"] = int((entered & treatment).sum())

    services = pd.read_csv(folder / "services.csv", dtype="string", keep_default_na=False)
    out["service"] = (
        services.loc[in_month(when(services["at"])), "service"].value_counts().to_dict()
    )
    return out


SCALARS = (
    "visits",
    "unique_participants",
    "new_participants",
    "overdoses",
    "overdoses_naloxone",
    "ems_calls",
    "transported",
    "deaths",
    "referrals_off_site",
    "referrals_accepted",
    "treatment_entries",
)
GROUPS = ("gender", "age_band", "route", "substance", "referral", "service")


def compare(ours: Figures, theirs: dict[str, Any]) -> list[str]:
    """Where the analyst's figures differ from the report's (empty: they agree)."""
    out = []
    for key in SCALARS:
        if ours.counts[key] != theirs[key]:
            out.append(f"{key}: report {ours.counts[key]}, pandas {theirs[key]}")
    for key in GROUPS:
        mine = Counter({k: v for k, v in ours.groups.get(key, {}).items() if v})
        other = Counter({str(k): int(v) for k, v in theirs[key].items() if v})
        if mine != other:
            out.append(f"{key}: report {dict(mine)}, pandas {dict(other)}")
    return out
