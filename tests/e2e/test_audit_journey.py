"""The audit log end to end: a nurse opens a participant's page in the browser of a real
`vigil serve`; the site manager opens the person's access log and sees who looked; in another
process, `vigil audit verify` finds the chain intact up to the head file the server wrote, an
exported copy verifies on its own, and a row changed behind the server's back is caught."""

import json
import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, sign_in
from tests.e2e.server import VIGIL

pytestmark = pytest.mark.e2e

REGISTER = (
    "from vigil.sites.models import Site; from vigil.testing import code_items; "
    "from vigil.participants.actions import register; s = Site.objects.get(); "
    "print(register(jurisdiction=s.jurisdiction, items=code_items(81), alias='Osprey', "
    "site=s, oriented=True).pk)"
)

TAMPER = (
    "from django.db import connection; connection.cursor().execute("
    "\"UPDATE audit_auditentry SET actor_name = 'nobody' WHERE seq = 2\")"
)


def test_a_manager_sees_who_opened_a_record_and_the_log_verifies(browser, vigil_server, tmp_path):
    vigil_server.vigil(
        "staff", "add", "morgan", "--role", "site_manager", "--site", "E2E CHEL",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    person = vigil_server.vigil("shell", "-c", REGISTER).strip().splitlines()[-1]

    nurse = sign_in(browser, vigil_server, "nurse")
    nurse.goto(vigil_server.url(f"/participants/{person}/"))
    expect(nurse.locator("h1")).to_contain_text("Osprey")
    expect(nurse.locator("text=Access log")).to_have_count(0)  # for managers only

    manager = sign_in(browser, vigil_server, "morgan")
    manager.goto(vigil_server.url(f"/participants/{person}/"))
    manager.click("text=Access log")
    expect(manager.locator("h1")).to_contain_text("Who opened or changed the record of Osprey")
    rows = manager.locator("table.audit-log tbody tr")
    expect(
        rows.filter(has_text="opened the participant's page").filter(has_text="nurse")
    ).to_have_count(1)
    expect(rows.filter(has_text="registered the participant")).to_have_count(1)
    manager.click("text=Only openings")
    expect(rows.filter(has_text="registered the participant")).to_have_count(0)

    # Another process verifies the chain the server wrote, against its head file.
    verified = vigil_server.vigil("audit", "verify")
    entries = int(re.search(r"audit log: intact, (\d+) entries", verified).group(1))
    head = json.loads((vigil_server.data_dir / "audit-head.json").read_text())
    assert head["seq"] <= entries  # the head file is a lower bound the chain reaches

    copy = tmp_path / "audit.jsonl"
    vigil_server.vigil("audit", "export", "-o", str(copy))
    # ...and it names a real entry of the chain: the one with its number has its hash.
    exported = {e["seq"]: e for e in map(json.loads, copy.read_text().splitlines())}
    assert exported[head["seq"]]["hash"] == head["hash"]
    assert "intact" in vigil_server.vigil("audit", "verify", "--file", str(copy))

    # A row changed behind the server's back: verify exits 1 and names it.
    vigil_server.vigil("shell", "-c", TAMPER)
    result = subprocess.run(
        [*VIGIL, "audit", "verify"], env=vigil_server.env, capture_output=True, text=True
    )
    assert result.returncode == 1 and "entry 2:" in result.stderr
