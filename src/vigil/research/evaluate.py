"""Running a study: load and check it, run each analysis, write results.json and the report."""

from __future__ import annotations

import importlib.metadata
import math
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vigil.research.errors import Problem, StudyError
from vigil.research.methods import METHODS
from vigil.research.records.study import RecordsStudy
from vigil.research.study import Study, load_study

SOFTWARE = (
    "vigil",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "matplotlib",
    "Django",
)

Step = Callable[[str, float], None]


class OutputError(ValueError):
    """An output path the report writer cannot honour."""


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def plain(value: Any) -> Any:
    """JSON-ready figures: builtin numbers, lists and dicts; NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def evaluate(study: Study | RecordsStudy, step: Step | None = None) -> dict[str, Any]:
    if not isinstance(study, Study):
        return evaluate_records(study, step)
    analyses = []
    for analysis in study.analyses:
        began = time.perf_counter()
        try:
            figures = METHODS[analysis.method].run(study.design(analysis), analysis.options)
        except (ValueError, np.linalg.LinAlgError) as exc:
            # A model that cannot be fitted on these data is a property of the study, reported
            # like any other problem rather than as a crash.
            if isinstance(exc, StudyError):
                raise
            raise StudyError(
                Problem(
                    study.panel.file,
                    f"analysis '{analysis.name}' ({analysis.method}) failed: {exc}",
                )
            ) from exc
        analyses.append(plain({"name": analysis.name, "method": analysis.method, **figures}))
        if step:
            step(f"analysis:{analysis.name}", time.perf_counter() - began)
    return {
        "title": study.title,
        "inputs": dict(study.inputs),
        "analyses": analyses,
        "software": software_versions(),
    }


def evaluate_records(study: RecordsStudy, step: Step | None = None) -> dict[str, Any]:
    """The analyses of a study over Vigil's records; every figure already protected against
    small counts (each method's `run`)."""
    from vigil.research.records import RECORD_METHODS

    analyses = []
    for analysis in study.analyses:
        began = time.perf_counter()
        try:
            figures = RECORD_METHODS[analysis.method].run(study.scope, analysis.options)
        except ValueError as exc:
            if isinstance(exc, StudyError):
                raise
            raise StudyError(
                Problem(study.file, f"analysis '{analysis.name}' ({analysis.method}): {exc}")
            ) from exc
        analyses.append(plain({"name": analysis.name, "method": analysis.method, **figures}))
        if step:
            step(f"analysis:{analysis.name}", time.perf_counter() - began)
    return {
        "title": study.title,
        "inputs": dict(study.inputs),
        "records": study.scope.header(),
        "analyses": analyses,
        "software": software_versions(),
    }


def check_outputs(out: Path | None, json_path: Path | None) -> None:
    if out is not None and out.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise OutputError(f"{out}: the report is written as HTML or PDF; name it *.html or *.pdf")
    if json_path is not None and json_path.suffix.lower() != ".json":
        raise OutputError(f"{json_path}: results are written as JSON; name the file *.json")


def report_bytes(study: Study | RecordsStudy, results: dict[str, Any], pdf: bool) -> bytes:
    """The report as HTML, or as PDF through WeasyPrint (the same HTML, its SVG figures drawn
    as vectors)."""
    from vigil.research import report

    html = report.render_html(study, results)
    if not pdf:
        return html.encode("utf-8")
    from vigil.lib.pdf import html_to_pdf

    return html_to_pdf(html)


def run_files(
    study_path: Path,
    html: Path | None = None,
    json_path: Path | None = None,
    step: Step | None = None,
) -> tuple[Study | RecordsStudy, dict[str, Any]]:
    """What `vigil evaluate` does; `step` hears the time of each stage."""
    from vigil.research import report

    check_outputs(html, json_path)

    def timed(name: str, began: float) -> None:
        if step:
            step(name, time.perf_counter() - began)

    began = time.perf_counter()
    study = load_study(study_path)
    timed("load", began)
    results = evaluate(study, step)
    if json_path is not None:
        began = time.perf_counter()
        _write(json_path, report.results_json(results))
        timed("json", began)
    if html is not None:
        began = time.perf_counter()
        pdf = html.suffix.lower() == ".pdf"
        _write(html, report_bytes(study, results, pdf))
        timed("pdf" if pdf else "html", began)
    return study, results


def _write(path: Path, content: str | bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror})") from exc
