"""The event pages as a nurse uses them: from a resolved alarm to a signed record, one-tap doses
and "Now" times, refusals that change nothing, amendments, late entries from paper, the list,
the printable summary and the downtime sheets."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.care.event_actions import open_event
from vigil.care.models import EventAmendment, Intervention, MedicalEvent
from vigil.floor import actions as floor
from vigil.lib import clock
from vigil.monitoring import actions as alarm_actions
from vigil.monitoring.models import Device, Reading
from vigil.monitoring.rules import Condition
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 14, 22, 0, tzinfo=UTC)  # 15:00 in Seattle


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


class _Form(HTMLParser):
    """What a browser would post from the page's record form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.inside = False
        self.done = False
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and "record" in (a.get("class") or "").split() and not self.done:
            self.inside = True
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind != "submit":
                self.data.setdefault(name, []).append(
                    a.get("value", "on" if kind == "checkbox" else "")
                )
        elif tag == "select" and name:
            self.select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self.select and "selected" in a:
            self.data[self.select] = [a.get("value", "")]
        elif tag == "textarea" and name:
            self.textarea = name
            self.data[name] = [""]

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] = [data.lstrip("\n")]

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside, self.done = False, True
        elif tag == "select":
            if self.select and not self.data[self.select]:
                self.data[self.select] = [""]
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def page_form(response, **changes) -> dict:
    parser = _Form()
    parser.feed(response.content.decode())
    data = {k: v if len(v) > 1 else v[0] for k, v in parser.data.items()}
    data.update(changes)
    return data


def local(moment: datetime, site) -> str:
    return moment.astimezone(site.tz).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture(autouse=True)
def now():
    with clock.frozen(m(10)):
        yield m(10)


@pytest.fixture
def site():
    return SiteFactory()


@pytest.fixture
def nurse(site, client):
    member = StaffFactory(role=Role.NURSE, sites=[site], first_name="Noor")
    client.force_login(member)
    return member


@pytest.fixture
def visit(site, nurse):
    with clock.frozen(m(-8)):
        return floor.check_in(
            site=site,
            participant=participant(site, alias="Robin"),
            intake=intake(),
            by=nurse,
            place=site.places.get(label="B1"),
        )


@pytest.fixture
def alarm(site, nurse, visit):
    """B1 stopped breathing at T0; the nurse responded at +2 min."""
    booth = site.places.get(label="B1")
    device = Device.objects.create(device_id="OXIMETERB1")
    Reading.objects.bulk_create(
        Reading(
            device=device,
            place=booth,
            received_at=m(s / 60),
            spo2=97 if s < 0 else 80,
            pulse=80,
            resp=14 if s < 0 else 0,
            apnea=s >= 0,
        )
        for s in range(-360, 300, 15)
    )
    raised, _ = alarm_actions.raise_alarm(
        place=booth,
        kind=Condition.NO_BREATH,
        at=m(0.5),
        first_abnormal_at=T0 + timedelta(seconds=10),
        visit_id=visit.pk,
    )
    with clock.frozen(m(2)):
        alarm_actions.claim(raised, nurse)
    return raised


def resolve(client, alarm, outcome="overdose", **headers):
    return client.post(
        reverse("monitoring:resolve", args=[alarm.pk]), {"outcome": outcome}, **headers
    )


def test_resolving_as_an_overdose_leads_the_nurse_to_the_record(client, alarm):
    response = resolve(client, alarm, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("care:event-from-alarm", args=[alarm.pk])


def test_without_htmx_the_resolve_redirects_to_the_record(client, alarm):
    response = resolve(client, alarm, outcome="other_medical")
    assert response["Location"] == reverse("care:event-from-alarm", args=[alarm.pk])


def test_other_outcomes_and_the_front_desk_stay_on_the_board(client, site, alarm):
    assert resolve(client, alarm, outcome="person_okay", HTTP_HX_REQUEST="true").status_code == 204
    other, _ = alarm_actions.raise_alarm(
        place=site.places.get(label="B1"), kind=Condition.SPO2_CRITICAL, at=m(9)
    )
    client.force_login(StaffFactory(role=Role.FRONT_DESK, sites=[site]))
    response = resolve(client, other, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and "HX-Redirect" not in response


def test_the_record_opens_prefilled_from_the_alarm(client, site, alarm):
    page = client.get(reverse("care:event-from-alarm", args=[alarm.pk]))
    assert page.status_code == 200
    form = page.context["form"]
    assert form["started_at"].value().astimezone(UTC) == T0  # first abnormal, to the minute
    assert form["signs"].value() == ["no_breathing"]
    assert form["place"].value() == alarm.place_id
    html = page.content.decode()
    assert "Robin" in html and "No breathing: first abnormal reading" in html
    assert "No breathing: responding" in html and "Noor" in html
    # Vitals from 5 minutes before to 10 after: one row a minute, with the start marked.
    minutes = page.context["around"].minutes
    assert minutes[0].at == m(-5) and minutes[-1].at == m(4)
    assert [r.at for r in minutes if r.marked] == [T0]
    assert page.context["around"].spo2_path.startswith("M")
    assert 'class="spo2" d="M' in html


def test_one_tap_doses_oxygen_and_ems_now(client, site, alarm, nurse, now):
    url = reverse("care:event-from-alarm", args=[alarm.pk])
    response = client.post(url, page_form(client.get(url), add="naloxone:0"))
    event = MedicalEvent.objects.get()
    assert response["Location"] == reverse("care:event-detail", args=[event.pk]) + "#interventions"
    assert (event.alarm, event.visit, event.participant.alias) == (alarm, alarm.visit, "Robin")
    assert set(event.staff_involved.all()) == {nurse}  # who opened it, who responded
    detail = reverse("care:event-detail", args=[event.pk])
    with clock.frozen(now + timedelta(minutes=2, seconds=40)):
        client.post(detail, page_form(client.get(detail), add="naloxone:0"))
        client.post(detail, page_form(client.get(detail), add="oxygen"))
        response = client.post(detail, page_form(client.get(detail), now="ems_called_at"))
    assert response["Location"].endswith("#ems")
    doses = list(
        event.interventions.values_list("kind", "at", "dose_mg", "route", "litres_per_minute")
    )
    assert doses == [
        ("naloxone", m(10), Decimal("0.40"), "IM", None),
        ("naloxone", m(12), Decimal("0.40"), "IM", None),
        ("oxygen", m(12), None, "", Decimal("10.0")),
    ]
    event.refresh_from_db()
    assert event.ems_called_at == m(12)
    page = client.get(detail)
    assert [f.dose_number for f in page.context["forms"].rows] == [1, 2, 0]


def test_a_second_visit_to_the_alarm_opens_the_existing_record(client, site, alarm, nurse):
    event = open_event(
        site=site, by=nurse, values={"kind": "overdose", "started_at": T0}, alarm=alarm
    )
    response = client.get(reverse("care:event-from-alarm", args=[alarm.pk]))
    assert response["Location"] == reverse("care:event-detail", args=[event.pk])


@pytest.fixture
def record(client, site, alarm, nurse):
    return open_event(
        site=site,
        by=nurse,
        values={
            "kind": "overdose",
            "started_at": T0,
            "place": alarm.place,
            "signs": ["no_breathing"],
        },
        alarm=alarm,
        visit=alarm.visit,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "n0-kind": "naloxone",
                "n0-at": "2026-03-14T14:58",
                "n0-dose_mg": "0.4",
                "n0-route": "IM",
                "new_rows": "1",
            },
            "before the event started",
        ),
        (
            {
                "n0-kind": "naloxone",
                "n0-at": "2026-03-14T15:02",
                "n0-dose_mg": "-2",
                "n0-route": "IM",
                "new_rows": "1",
            },
            "more than 0 mg",
        ),
        (
            {
                "n0-kind": "oxygen",
                "n0-at": "2026-03-14T15:02",
                "n0-litres_per_minute": "25",
                "new_rows": "1",
            },
            "between 1 and 15",
        ),
        (
            {"ems_called_at": "2026-03-14T15:06", "ems_arrived_at": "2026-03-14T15:04"},
            "before they were called",
        ),
        ({"minutes_to_recovery": "-3"}, "cannot be negative"),
        ({"outcome": "death"}, "confirmation box"),
        ({"transported_at": "2026-03-14T15:06"}, "Transported to hospital"),
        ({"started_at": "yesterday"}, "Enter a date and time."),
        ({"sign": "1"}, "Choose the outcome before signing off."),
    ],
)
def test_a_refused_save_shows_why_and_changes_nothing(client, site, record, changes, message):
    detail = reverse("care:event-detail", args=[record.pk])
    before = (MedicalEvent.objects.values().get(pk=record.pk), Intervention.objects.count())
    data = page_form(client.get(detail), notes="this must not be saved", **changes)
    response = client.post(detail, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert (MedicalEvent.objects.values().get(pk=record.pk), Intervention.objects.count()) == before


def test_what_was_typed_survives_a_refusal(client, site, record):
    detail = reverse("care:event-detail", args=[record.pk])
    refused = client.post(
        detail,
        page_form(client.get(detail), ems_called_at="2026-03-14T15:03", minutes_to_recovery="-1"),
    )
    assert refused.status_code == 400
    fixed = page_form(refused, minutes_to_recovery="7")
    assert client.post(detail, fixed).status_code == 302
    record.refresh_from_db()
    assert (record.ems_called_at, record.minutes_to_recovery) == (m(3), 7)


def test_two_nurses_saving_the_same_page(client, site, record, nurse):
    detail = reverse("care:event-detail", args=[record.pk])
    mine = page_form(client.get(detail))
    theirs = page_form(client.get(detail))
    assert client.post(detail, {**theirs, "ems_called_at": "2026-03-14T15:04"}).status_code == 302
    # My page still shows EMS not called; saving my outcome keeps their EMS time.
    assert client.post(detail, {**mine, "outcome": "recovered_on_site"}).status_code == 302
    record.refresh_from_db()
    assert (record.ems_called_at, record.outcome) == (m(4), "recovered_on_site")
    # Had I typed another EMS time, I would be told rather than overwrite theirs.
    response = client.post(detail, {**mine, "ems_called_at": "2026-03-14T15:06"})
    assert response.status_code == 400 and "Someone else changed this" in response.content.decode()
    record.refresh_from_db()
    assert record.ems_called_at == m(4)


def test_strike_out_keeps_the_dose_visible(client, site, record):
    detail = reverse("care:event-detail", args=[record.pk])
    client.post(detail, page_form(client.get(detail), add="naloxone:1"))
    dose = Intervention.objects.get()
    client.post(detail, page_form(client.get(detail), **{f"i{dose.pk}-remove": "on"}))
    dose.refresh_from_db()
    assert dose.removed_at == m(10)
    page = client.get(detail).content.decode()
    assert "<del><strong>Naloxone</strong>" in page and "struck out" in page


def test_sign_off_then_amend_keeps_the_earlier_version_visible(client, site, record, nurse):
    detail = reverse("care:event-detail", args=[record.pk])
    client.post(detail, page_form(client.get(detail), add="naloxone:0"))
    signed = client.post(
        detail,
        page_form(
            client.get(detail), outcome="recovered_on_site", minutes_to_recovery="6", sign="1"
        ),
    )
    assert signed.status_code == 302
    record.refresh_from_db()
    assert record.signed_off_by == nurse
    page = client.get(detail).content.decode()
    assert "Signed off by" in page and 'href="/events/' in page and "Amend" in page
    # A signed record is not changed by the ordinary form.
    assert (
        client.post(
            detail, page_form(client.get(reverse("care:event-amend", args=[record.pk])))
        ).status_code
        == 302
    )
    amend = reverse("care:event-amend", args=[record.pk])
    no_reason = client.post(amend, page_form(client.get(amend), minutes_to_recovery="9"))
    assert no_reason.status_code == 400 and "Say why" in no_reason.content.decode()
    manager = StaffFactory(role=Role.SITE_MANAGER, sites=[site], first_name="Morgan")
    client.force_login(manager)
    with clock.frozen(m(40)):
        response = client.post(
            amend,
            page_form(client.get(amend), minutes_to_recovery="9", reason="Aftercare sheet says 9"),
        )
    assert response["Location"] == detail
    record.refresh_from_db()
    assert record.version == 2 and record.minutes_to_recovery == 9
    assert EventAmendment.objects.get().snapshot["minutes_to_recovery"] == 6
    page = client.get(detail).content.decode()
    assert "Version 1 → 2" in page and "Aftercare sheet says 9" in page and str(manager) in page
    assert "<del>6</del>" in page and "<ins>9</ins>" in page
    printed = client.get(reverse("care:event-print", args=[record.pk])).content.decode()
    assert "Version 1 → 2" in printed and "Naloxone · 0.4 mg IM" in printed


def test_a_late_entry_from_the_paper_sheet(client, site, visit):
    url = reverse("care:event-new", args=[site.pk]) + "?late=1"
    page = client.get(url)
    assert page.context["late"] and b'name="now"' not in page.content
    # "+ Naloxone" in a late entry adds a row to fill in; nothing is saved yet.
    more = client.post(url, page_form(page, add="naloxone:1"))
    assert more.status_code == 200 and not MedicalEvent.objects.exists()
    rows = more.context["forms"].new
    assert [(r["kind"].value(), r["dose_mg"].value(), r["route"].value()) for r in rows[1:]] == [
        ("naloxone", "4", "IN")
    ]
    data = page_form(
        more,
        kind="overdose",
        started_at="2026-03-14T14:54",
        alias="robin",
        place=str(site.places.get(label="B1").pk),
        signs="unresponsive",
        **{"n0-kind": "stimulation", "n0-at": "2026-03-14T14:55", "n1-at": "2026-03-14T14:57"},
        outcome="recovered_on_site",
        minutes_to_recovery="8",
        sign="1",
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["forms"].all_errors()
    event = MedicalEvent.objects.get()
    assert event.entered_late and event.signed_off_at == m(10)
    assert (event.participant, event.visit) == (visit.participant, visit)
    assert list(event.interventions.values_list("kind", "at")) == [
        ("stimulation", m(-5)),
        ("naloxone", m(-3)),
    ]
    listing = client.get(reverse("care:event-list", args=[site.pk]) + "?month=2026-03")
    assert b"late" in listing.content and b"Robin" in listing.content


def test_a_late_entry_with_an_unknown_alias_is_refused(client, site, nurse):
    url = reverse("care:event-new", args=[site.pk]) + "?late=1"
    data = page_form(client.get(url), started_at="2026-03-14T14:54", alias="Nobody")
    response = client.post(url, data)
    assert (
        response.status_code == 400 and "No participant has the alias" in response.content.decode()
    )
    assert not MedicalEvent.objects.exists()


def test_a_record_from_a_tile_and_from_a_participant(client, site, visit):
    url = reverse("care:event-new", args=[site.pk])
    booth = site.places.get(label="B1")
    from_tile = client.get(url + f"?visit={visit.pk}&place={booth.pk}")
    assert from_tile.context["form"]["place"].value() == booth.pk
    assert from_tile.context["form"]["started_at"].value().astimezone(UTC) == m(10)
    from_person = client.get(url + f"?participant={visit.participant_id}")
    assert from_person.context["start"].visit == visit
    response = client.post(url + f"?visit={visit.pk}", page_form(from_tile, add="stimulation"))
    assert response.status_code == 302
    assert MedicalEvent.objects.get().visit == visit


def test_the_list_shows_records_and_alarms_still_waiting_for_one(
    client, site, alarm, record, nurse
):
    resolved, _ = alarm_actions.raise_alarm(
        place=site.places.get(label="B2"), kind=Condition.APNEA, at=m(5)
    )
    alarm_actions.resolve(resolved, "overdose", nurse)
    page = client.get(reverse("care:event-list", args=[site.pk]) + "?month=2026-03")
    html = page.content.decode()
    assert [e for e, _mg in page.context["records"]] == [record]
    assert [a.pk for a in page.context["waiting"]] == [resolved.pk]
    assert reverse("care:event-from-alarm", args=[resolved.pk]) in html
    assert not client.get(reverse("care:event-list", args=[site.pk]) + "?month=2026-02").context[
        "records"
    ]


def test_the_downtime_sheets_list_the_places_and_the_record_fields(client, site, nurse):
    floor_sheet = client.get(reverse("care:downtime-floor", args=[site.pk]) + "?lines=2")
    html = floor_sheet.content.decode()
    assert all(f">{label}<" in html for label in ("B1", "B2", "B3", "A1", "A2"))
    assert len(floor_sheet.context["rows"]) == 10
    sheet = client.get(reverse("care:downtime-overdose", args=[site.pk])).content.decode()
    for words in (
        "Pinpoint pupils",
        "Naloxone dose",
        "IN",
        "IM",
        "IV",
        "L/min",
        "EMS",
        "Nurse sign-off",
        "Entered into Vigil",
    ):
        assert words in sheet, words


def test_a_double_tap_records_one_dose(client, site, record):
    detail = reverse("care:event-detail", args=[record.pk])
    page = page_form(client.get(detail), add="naloxone:0")
    client.post(detail, page)
    again = client.post(detail, page)  # the same tap, arriving twice
    assert again.status_code == 302
    assert Intervention.objects.filter(kind="naloxone").count() == 1
    # From the page the first tap brought back, a second dose is a second dose.
    client.post(detail, page_form(client.get(detail), add="naloxone:0"))
    assert Intervention.objects.filter(kind="naloxone").count() == 2


def test_a_double_tap_on_a_new_record_opens_it_once(client, site, visit):
    url = reverse("care:event-new", args=[site.pk]) + f"?visit={visit.pk}"
    page = page_form(client.get(url), add="naloxone:0")
    first = client.post(url, page)
    second = client.post(url, page)
    event = MedicalEvent.objects.get()
    assert second["Location"] == reverse("care:event-detail", args=[event.pk])
    assert first["Location"].startswith(second["Location"])
    assert event.interventions.count() == 1


def test_a_dose_a_colleague_added_meanwhile_shows_after_a_refusal(client, site, record, nurse):
    detail = reverse("care:event-detail", args=[record.pk])
    mine = page_form(client.get(detail), minutes_to_recovery="-1")
    colleague = StaffFactory(role=Role.NURSE, sites=[site])
    client.force_login(colleague)
    client.post(detail, page_form(client.get(detail), add="naloxone:1"))
    client.force_login(nurse)
    refused = client.post(detail, mine)
    assert refused.status_code == 400
    (row,) = refused.context["forms"].rows
    assert row["dose_mg"].value() == Decimal("4")
    fixed = page_form(refused, minutes_to_recovery="5")
    assert client.post(detail, fixed).status_code == 302
    assert Intervention.objects.get().dose_mg == Decimal("4.00")
