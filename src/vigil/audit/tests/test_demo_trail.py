"""`vigil seed-demo` goes through the staff's actions, so the demo's history has its audit
trail: the staff member it describes, and the operating-system user who ran the command."""

import pytest
from django.core.management import call_command

from vigil.audit.context import os_user
from vigil.audit.log import head_writer, verify_database
from vigil.audit.models import AuditEntry

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


def test_the_demo_has_an_honest_intact_trail(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr("sys.argv", ["vigil", "seed-demo", "--days", "2"])
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed-demo", "--days", "2")
    head_writer.flush()
    result = verify_database()
    assert result.ok, result.summary()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"participant.register", "visit.check_in", "visit.end", "care.given"} <= actions
    assert {"referral.create", "drug_check.create"} <= actions
    # Nothing is opened by the seeder: no page openings are made up.
    assert not any(a.endswith(".open") or a == "event.print" for a in actions)
    check_in = AuditEntry.objects.filter(action="visit.check_in").first()
    assert check_in.actor_kind == "staff" and check_in.actor_id is not None
    assert (check_in.via, check_in.os_user) == ("cli seed-demo", os_user())
    # Registration is not handed the member of staff: the command's user is the actor.
    register = AuditEntry.objects.filter(action="participant.register").first()
    assert (register.actor_kind, register.actor_name) == ("os_user", os_user())
