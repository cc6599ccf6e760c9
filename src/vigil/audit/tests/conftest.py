import pytest


@pytest.fixture(autouse=True)
def _own_head_file(tmp_path, monkeypatch):
    """Each test's database starts a new chain: its head file must not be another test's."""
    path = tmp_path / "audit-head.json"
    monkeypatch.setenv("VIGIL_AUDIT_HEAD", str(path))
    return path


@pytest.fixture
def six(django_capture_on_commit_callbacks):
    """A log of six committed entries, its head file written."""
    from vigil.audit.tests.helpers import fill

    fill(django_capture_on_commit_callbacks, 6)
