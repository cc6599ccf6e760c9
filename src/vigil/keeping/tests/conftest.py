"""A data dir of its own for every test (key ring, code key, backup work files) and a backup
key kept outside it, plus a small synthetic record set with free text in every encrypted
field."""

from datetime import UTC, datetime, timedelta

import pytest

from vigil.care.models import EventAmendment, MedicalEvent, Referral, ReferralStep
from vigil.floor import actions as floor
from vigil.floor.models import EndReason
from vigil.lib import clock
from vigil.testing import SiteFactory, StaffFactory, intake, participant

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path, monkeypatch):
    home = tmp_path / "data"
    monkeypatch.setenv("VIGIL_DATA_DIR", str(home))
    monkeypatch.setenv("VIGIL_BACKUP_KEY_FILE", str(tmp_path / "elsewhere" / "backup.key"))
    monkeypatch.delenv("VIGIL_FIELD_KEYS", raising=False)
    return home


@pytest.fixture
def records():
    """One person with a visit, an overdose event with notes and an amendment, a referral
    with a partner and a step note; a second person with only a visit."""
    site = SiteFactory()
    nurse = StaffFactory(sites=[site])
    with clock.frozen(T0):
        person = participant(site, alias="Wren", language="Tigrinya")
        other = participant(site, alias="Kestrel")
        visit = floor.check_in(site=site, participant=person, intake=intake(), by=nurse)
        floor.end_visit(visit=visit, reason=EndReason.COMPLETED, by=nurse)
        visit2 = floor.check_in(site=site, participant=other, intake=intake(), by=nurse)
        floor.end_visit(visit=visit2, reason=EndReason.COMPLETED, by=nurse)
    event = MedicalEvent.objects.create(
        site=site,
        visit=visit,
        participant=person,
        started_at=T0 + timedelta(minutes=5),
        notes="Friend from the camp under the bridge came in with him",
        created_by=nurse,
    )
    EventAmendment.objects.create(
        event=event,
        version=1,
        snapshot={"notes": "first notes", "participant": {"id": person.pk, "label": "Wren"}},
        reason="Recovery time corrected from the aftercare sheet",
        amended_by=nurse,
    )
    referral = Referral.objects.create(
        site=site,
        participant=person,
        visit=visit,
        kind="methadone",
        where="off_site",
        partner="Harbour Clinic",
        referred_at=T0 + timedelta(minutes=30),
        referred_by=nurse,
    )
    ReferralStep.objects.create(
        referral=referral,
        status="referred",
        at=T0 + timedelta(minutes=30),
        by=nurse,
        note="Call his sister first",
    )
    return {
        "site": site,
        "nurse": nurse,
        "person": person,
        "other": other,
        "event": event,
        "referral": referral,
    }
