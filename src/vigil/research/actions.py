"""Writes of the evaluation pages: a study run and its stored report."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from vigil.research.models import StudyRun
from vigil.research.records.study import RecordsStudy
from vigil.research.study import Study


def save_run(*, study: Study | RecordsStudy, results: dict[str, Any], by, kind: str) -> StudyRun:
    """Keep a run's results and report; every run is in the audit log, with the SHA-256 of
    each input file (not the files' names: the log holds no free text)."""
    from vigil.audit import record
    from vigil.research import report

    site_ids = list(study.scope.site_ids) if isinstance(study, RecordsStudy) else []
    with transaction.atomic():
        run = StudyRun.objects.create(
            title=study.title[:200],
            kind=kind,
            created_by=by,
            site_ids=site_ids,
            results=results,
            report_html=report.render_html(study, results),
            page_html=report.render_body(study, results, report.svg_img),
        )
        record(
            "research.run_study",
            actor=by,
            site=site_ids[0] if len(site_ids) == 1 else None,
            detail={
                "run": str(run.pk),
                "kind": kind,
                "sites": site_ids,
                "analyses": [a["method"] for a in results["analyses"]],
                "inputs": list(results["inputs"].values()),
            },
        )
    return run
