"""The demo's logins: demo authenticators whose codes only a demo data dir prints."""

import pytest
from django.core.management import CommandError, call_command

from vigil.accounts import demo
from vigil.accounts.roles import Role
from vigil.accounts.twofactor import match_second_factor
from vigil.testing import SiteFactory, StaffFactory

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))


def test_codes_are_refused_for_a_data_dir_that_is_not_the_demo(capsys):
    StaffFactory(role=Role.NURSE, username="nurse")
    with pytest.raises(CommandError, match="not a demo data dir"):
        call_command("demo-codes")
    assert "nurse" not in capsys.readouterr().out


def test_demo_staff_get_codes_that_sign_them_in_and_a_pin(capsys):
    site = SiteFactory()
    nurse = StaffFactory(role=Role.NURSE, username="nurse", sites=[site])
    evaluator = StaffFactory(role=Role.EVALUATOR, username="evaluator")
    demo.prepare_logins(["nurse", "evaluator"])
    call_command("demo-codes")
    out = capsys.readouterr().out
    code = next(line.split()[1] for line in out.splitlines() if line.strip().startswith("nurse"))
    assert match_second_factor(nurse, code) is not None
    assert "evaluator" not in out  # no second factor for the evaluator
    nurse.refresh_from_db()
    evaluator.refresh_from_db()
    assert nurse.pin_hash and not evaluator.pin_hash
