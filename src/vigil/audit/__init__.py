"""The tamper-evident audit log: `record()` is the one call other code makes (see docs/audit.md)."""

from typing import Any


def record(
    action: str,
    *,
    actor: Any = None,
    request: Any = None,
    subject: Any = None,
    site: Any = None,
    detail: dict | None = None,
) -> Any:
    """Append one entry to the audit chain, in the caller's transaction.

    `action` is a dotted name ("participant.open", "visit.check_in"); `actor` the member of
    staff who did it (else the signed-in person of `request` or of the current request, else
    the operating-system user of a command); `subject` a model instance or a (label, pk) pair,
    kept as internal ids only; `site` a Site or its id; `detail` a small JSON object that
    holds no alias, code or free text.
    """
    from vigil.audit.log import record as _record

    return _record(action, actor=actor, request=request, subject=subject, site=site, detail=detail)
