"""The backup key's place and the PostgreSQL client's settings, without a database."""

import stat

import pytest

from vigil.keeping import backup, sealed


def test_default_key_file_is_outside_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("VIGIL_BACKUP_KEY_FILE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert backup.key_file_path() == tmp_path / "home" / ".config" / "vigil" / "backup.key"


def test_key_file_inside_the_data_dir_is_refused_even_through_dot_dot(own_data_dir, tmp_path):
    with pytest.raises(backup.BackupError, match="inside the data dir"):
        backup.key_file_path(own_data_dir / "secrets" / "backup.key")
    with pytest.raises(backup.BackupError, match="inside the data dir"):
        backup.key_file_path(tmp_path / "elsewhere" / ".." / "data" / "k")


def test_key_is_created_once_private_and_then_reused(tmp_path):
    path = tmp_path / "keys" / "backup.key"
    key, created = backup.load_key(path, create=True)
    assert created and len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert backup.load_key(path, create=True) == (key, False)
    assert sealed.key_id(key) == sealed.key_id(backup.load_key(path, create=False)[0])


def test_a_damaged_key_file_is_named(tmp_path):
    path = tmp_path / "backup.key"
    path.write_text("not a key")
    with pytest.raises(backup.BackupError, match="does not hold a backup key"):
        backup.load_key(path, create=False)


def test_password_goes_in_the_environment_not_on_the_command_line():
    args, env = backup._pg_command(
        "pg_dump",
        {
            "HOST": "db.example",
            "PORT": 5433,
            "USER": "vigil",
            "PASSWORD": "hunter2-synthetic",
            "OPTIONS": {"sslmode": "require"},
        },
    )
    assert args == ["pg_dump", "-h", "db.example", "-p", "5433", "-U", "vigil"]
    assert "hunter2-synthetic" not in " ".join(args)
    assert env["PGPASSWORD"] == "hunter2-synthetic" and env["PGSSLMODE"] == "require"
