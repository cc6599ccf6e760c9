import io

from django.core.management import call_command

from vigil.audit.log import head_writer, record


def run(*args) -> tuple[int, str]:
    """`vigil audit ...`: the exit code and everything it printed."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue() + err.getvalue()


def fill(capture, n: int = 6) -> None:
    """`n` entries, each committed (so the head file follows, as in production)."""
    for i in range(n):
        with capture(execute=True):
            record("participant.open", subject=("participants.participant", 100 + i))
    head_writer.flush()
