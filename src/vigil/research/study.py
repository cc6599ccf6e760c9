"""The study file (TOML): what is evaluated, on which data, by which analyses.

`load_study` reads and checks everything before any analysis runs, so a bad study fails at once
with every problem listed, each naming its file, row or line, and what is wrong.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from vigil.research import periods as P
from vigil.research.design import Design
from vigil.research.errors import Problem, StudyError, raise_if
from vigil.research.methods import METHODS
from vigil.research.panel import Panel, load_panel

if TYPE_CHECKING:
    from vigil.research.records.study import RecordsStudy

TOP_KEYS = (
    "title",
    "area_definition",
    "death_definition",
    "description",
    "data",
    "intervention",
    "analysis",
)
DATA_KEYS = ("file", "unit", "time", "value", "population", "frequency")
INTERVENTION_KEYS = ("unit", "start", "comparison")
# Keys every [[analysis]] may carry besides its method's own options.
ANALYSIS_KEYS = ("name", "method", "start", "from", "to", "comparison")

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


@dataclass(frozen=True)
class Analysis:
    index: int  # 1-based position among the [[analysis]] tables
    name: str
    method: str
    options: dict[str, Any]
    start: pd.Period
    first: pd.Period
    last: pd.Period
    comparison: tuple[str, ...]


@dataclass
class Study:
    path: Path
    file: str  # the study file's name as given, for messages
    title: str
    area_definition: str | None
    death_definition: str | None
    description: str | None
    data_file: str  # as written in the study
    panel: Panel
    treated: str
    start_text: str
    start: pd.Period  # the period that contains [intervention] start
    analyses: list[Analysis]
    inputs: dict[str, str] = field(default_factory=dict)

    def design(self, analysis: Analysis) -> Design:
        window = (self.panel.periods >= analysis.first) & (self.panel.periods <= analysis.last)
        units = [self.treated, *analysis.comparison]
        population = self.panel.population
        return Design(
            analysis=analysis.name,
            file=self.panel.file,
            frequency=self.panel.frequency,
            periods=self.panel.periods[window],
            start=analysis.start,
            treated=self.treated,
            comparison=analysis.comparison,
            values=self.panel.values.loc[window, units],
            population=None if population is None else population.loc[window, units],
            rows=self.panel.rows.loc[window, units],
            value_name=self.panel.value_name,
            single_series=self.panel.single_series,
        )


class _Lines:
    """Line numbers of tables and keys in the study text, so messages can point at them."""

    def __init__(self, text: str) -> None:
        self.tables: dict[tuple[str, int], int] = {}
        self.keys: dict[tuple[str, int, str], int] = {}
        table, index = "", 0
        counts: dict[str, int] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if m := _HEADER.match(line):
                table = m[2]
                index = counts.get(table, 0) + 1 if m[1] == "[[" else 1
                counts[table] = index
                self.tables[(table, index)] = number
            elif m := _KEY.match(line):
                self.keys.setdefault((table, index, m[1]), number)

    def of(self, table: str, key: str | None = None, index: int = 1) -> int | None:
        if key is not None and (found := self.keys.get((table, index, key))):
            return found
        return self.tables.get((table, index))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Upload:
    """A file sent through the evaluator pages: its name as sent, and its bytes (never written
    to disk)."""

    name: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


class _Reader:
    """Collects the problems of one study file."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = _Lines(text)
        self.problems: list[Problem] = []

    def add(self, what: str, table: str = "", key: str | None = None, index: int = 1) -> None:
        self.problems.append(Problem(self.file, what, line=self.lines.of(table, key, index)))

    def unknown_keys(self, table: dict, allowed: tuple[str, ...], name: str, index: int = 1):
        label = f"[{name}]" if name else "the top level"
        for key in table:
            if key not in allowed:
                self.add(
                    f"unknown key '{key}' in {label}; allowed: {', '.join(allowed)}",
                    name,
                    key,
                    index,
                )

    def text(self, table: dict, key: str, name: str, required: bool, index: int = 1) -> str | None:
        value = table.get(key)
        label = f"[{name}] {key}" if name else key
        if value is None:
            if required:
                self.add(f"{label} is required", name, index=index)
            return None
        if not _is_text(value):
            self.add(f"{label} must be a non-empty text, not {value!r}", name, key, index)
            return None
        return str(value).strip()


def _read_study(path: Path, file: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise StudyError(Problem(file, "study file not found")) from None
    except OSError as exc:
        raise StudyError(Problem(file, f"cannot be read ({exc.strerror})")) from None


def _parse(raw: bytes, file: str) -> tuple[dict[str, Any], str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StudyError(Problem(file, f"not UTF-8 text ({exc.reason})")) from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = int(found[1]) if found else None
        raise StudyError(Problem(file, f"not valid TOML: {exc}", line=line)) from None


def _time_at(
    reader: _Reader, value: Any, label: str, panel: Panel, table: str, key: str, index: int = 1
) -> pd.Period | None:
    try:
        tv = P.parse_time_value(value)
    except P.TimeParseError as exc:
        reader.add(f"{label}: {exc}", table, key, index)
        return None
    if panel.frequency == "month" and tv.kind == "year":
        reader.add(
            f"{label} '{tv}' is a year but the data are monthly; give a month (YYYY-MM) or a date",
            table,
            key,
            index,
        )
        return None
    return tv.period(panel.frequency)


def _units(
    reader: _Reader, value: Any, label: str, panel: Panel, table: str, key: str, index: int = 1
) -> list[str] | None:
    if not isinstance(value, list) or not value or not all(_is_text(u) for u in value):
        reader.add(f"{label} must be a non-empty list of unit names", table, key, index)
        return None
    names = [str(u).strip() for u in value]
    ok = True
    for name in names:
        if name not in panel.units:
            reader.add(
                f"{label}: unknown unit '{name}'; the data ({panel.file}) have: "
                f"{', '.join(panel.units)}",
                table,
                key,
                index,
            )
            ok = False
    if len(set(names)) != len(names):
        reader.add(f"{label} names a unit twice", table, key, index)
        ok = False
    return names if ok else None


def _check_counts(reader: _Reader, study_panel: Panel, design: Design, method: str) -> None:
    values = design.values
    for unit in values.columns:
        for period, number in values[unit].items():
            if not float(number).is_integer():
                row = int(design.rows.at[period, unit])
                reader.problems.append(
                    Problem(
                        study_panel.file,
                        f"{study_panel.value_name} {number:g} is not a whole number; "
                        f"analysis '{design.analysis}' ({method}) models counts of deaths",
                        row=row,
                        line=row + 1,
                    )
                )


def load_study(path: str | Path) -> Study | RecordsStudy:
    """A study over a CSV file ([data]) or over Vigil's own records ([vigil])."""
    path = Path(path)
    file = str(path)
    doc, text = _parse(_read_study(path, file), file)
    reader = _Reader(file, text)

    if "vigil" in doc:
        from vigil.research.records.study import load_records_study

        return load_records_study(path, file, doc, reader)
    return _load_data_study(path, file, doc, reader)


def load_uploaded_study(study: Upload, data: Upload) -> Study:
    """A study sent from the evaluator pages with its CSV file: checked and built exactly as
    `load_study` does, except that the data are the uploaded file, whatever `[data] file`
    says (it may be left out). Messages name the files as they were sent."""
    doc, text = _parse(study.content, study.name)
    reader = _Reader(study.name, text)
    if "vigil" in doc:
        raise StudyError(
            Problem(
                study.name,
                "this study reads Vigil's own records ([vigil]); run such a study from the "
                "form for your sites' records, or give a study with a [data] table for the "
                "uploaded CSV file",
                line=reader.lines.of("vigil"),
            )
        )
    return _load_data_study(Path(study.name), study.name, doc, reader, upload=(study, data))


def _load_data_study(
    path: Path,
    file: str,
    doc: dict[str, Any],
    reader: _Reader,
    upload: tuple[Upload, Upload] | None = None,
) -> Study:
    reader.unknown_keys(doc, TOP_KEYS, "")
    title = reader.text(doc, "title", "", required=True)
    definitions = {
        key: reader.text(doc, key, "", required=False)
        for key in ("area_definition", "death_definition", "description")
    }

    data = doc.get("data")
    intervention = doc.get("intervention")
    analyses = doc.get("analysis")
    if not isinstance(data, dict):
        reader.add("a [data] table is required (file, time, value; unit, population optional)")
        data = {}
    if not isinstance(intervention, dict):
        reader.add("an [intervention] table is required (start; unit, comparison optional)")
        intervention = {}
    if not isinstance(analyses, list) or not analyses:
        reader.add("at least one [[analysis]] table is required (name, method)")
        analyses = []

    reader.unknown_keys(data, DATA_KEYS, "data")
    if upload is None:
        data_file = reader.text(data, "file", "data", required=True)
    else:
        data_file = upload[1].name  # the uploaded file stands for [data] file
    columns = {
        key: reader.text(data, key, "data", required=key in ("time", "value"))
        for key in ("unit", "time", "value", "population")
    }
    frequency = data.get("frequency")
    if frequency is not None and frequency not in P.FREQUENCIES:
        reader.add(
            f"[data] frequency must be one of {', '.join(P.FREQUENCIES)}, not {frequency!r}",
            "data",
            "frequency",
        )
    reader.unknown_keys(intervention, INTERVENTION_KEYS, "intervention")
    if "start" not in intervention:
        reader.add("[intervention] start is required", "intervention")

    seen_names: dict[str, int] = {}
    for i, table in enumerate(analyses, start=1):
        if not isinstance(table, dict):
            reader.add(f"analysis {i} must be a table ([[analysis]])")
            continue
        name = reader.text(table, "name", "analysis", required=False, index=i)
        if name is None:
            reader.add(f"[[analysis]] {i} needs a name", "analysis", index=i)
        elif name in seen_names:
            reader.add(
                f"duplicate analysis name '{name}' (also analysis {seen_names[name]}); names "
                "must be unique within a study",
                "analysis",
                "name",
                i,
            )
        else:
            seen_names[name] = i
        method = table.get("method")
        spec = METHODS.get(method) if isinstance(method, str) else None
        if spec is None:
            problem = "needs a method" if method is None else f"unknown method {method!r}"
            reader.add(
                f"analysis '{name or i}': {problem}; methods: {', '.join(sorted(METHODS))}",
                "analysis",
                "method" if "method" in table else None,
                i,
            )
            continue
        for key, value in table.items():
            if key in ANALYSIS_KEYS:
                continue
            check = spec.options.get(key)
            if check is None:
                allowed = ", ".join([*ANALYSIS_KEYS, *spec.options]) or "none"
                reader.add(
                    f"analysis '{name or i}': unknown option '{key}' for {method}; allowed: "
                    f"{allowed}",
                    "analysis",
                    key,
                    i,
                )
                continue
            try:
                check(value)
            except ValueError as exc:
                reader.add(f"analysis '{name or i}': {key} {exc}", "analysis", key, i)
    raise_if(reader.problems)

    assert title is not None and data_file is not None  # guaranteed by the checks above
    data_path = path.parent / data_file if upload is None else Path(data_file)
    panel = load_panel(
        data_path,
        str(data_path),
        unit=columns["unit"],
        time=columns["time"] or "",
        value=columns["value"] or "",
        population=columns["population"],
        frequency=frequency,
        content=None if upload is None else upload[1].content,
    )

    treated = _treated(reader, intervention, panel, columns["unit"])
    start = _time_at(
        reader, intervention.get("start"), "[intervention] start", panel, "intervention", "start"
    )
    default_comparison: list[str] | None = None
    if "comparison" in intervention:
        default_comparison = _units(
            reader,
            intervention["comparison"],
            "[intervention] comparison",
            panel,
            "intervention",
            "comparison",
        )
    elif treated is not None:
        default_comparison = [u for u in panel.units if u != treated]
    if treated is not None and default_comparison and treated in default_comparison:
        reader.add(
            f"[intervention] comparison includes the intervention unit '{treated}'",
            "intervention",
            "comparison",
        )
    if start is not None and not panel.periods[0] < start <= panel.periods[-1]:
        where = "after the last" if start > panel.periods[-1] else "at or before the first"
        reader.add(
            f"[intervention] start {start} is {where} period of the data ({panel.file} runs "
            f"from {panel.periods[0]} to {panel.periods[-1]}); the period containing the start "
            "is the first one counted as after, so the data must have periods before it",
            "intervention",
            "start",
        )
    raise_if(reader.problems)
    assert treated is not None and start is not None and default_comparison is not None

    checked: list[Analysis] = []
    for i, table in enumerate(analyses, start=1):
        analysis = _analysis(reader, table, i, panel, treated, start, default_comparison)
        if analysis is not None:
            checked.append(analysis)
    raise_if(reader.problems)

    study = Study(
        path=path,
        file=file,
        title=title,
        area_definition=definitions["area_definition"],
        death_definition=definitions["death_definition"],
        description=definitions["description"],
        data_file=data_file,
        panel=panel,
        treated=treated,
        start_text=str(P.parse_time_value(intervention["start"])),
        start=start,
        analyses=checked,
    )
    for analysis in checked:
        spec = METHODS[analysis.method]
        if spec.needs_counts:
            _check_counts(reader, panel, study.design(analysis), analysis.method)
    raise_if(reader.problems)
    if upload is None:
        study.inputs = {path.name: _sha256(path), data_file: _sha256(data_path)}
    else:
        study.inputs = {upload[0].name: upload[0].sha256, upload[1].name: upload[1].sha256}
    return study


def _treated(reader: _Reader, intervention: dict, panel: Panel, unit_column: str | None):
    unit = intervention.get("unit")
    if unit_column is None:
        if unit is not None:
            reader.add(
                "[intervention] unit is set but [data] names no unit column; omit it for a "
                "single series or add [data] unit",
                "intervention",
                "unit",
            )
            return None
        return panel.units[0]
    if not _is_text(unit):
        reader.add(
            "[intervention] unit is required when [data] names a unit column; the data "
            f"have: {', '.join(panel.units)}",
            "intervention",
        )
        return None
    unit = str(unit).strip()
    if unit not in panel.units:
        reader.add(
            f"[intervention] unit: unknown unit '{unit}'; the data ({panel.file}) have: "
            f"{', '.join(panel.units)}",
            "intervention",
            "unit",
        )
        return None
    return unit


def _analysis(
    reader: _Reader,
    table: dict[str, Any],
    index: int,
    panel: Panel,
    treated: str,
    start: pd.Period,
    default_comparison: list[str],
) -> Analysis | None:
    name = str(table["name"]).strip()
    method = table["method"]
    spec = METHODS[method]
    label = f"analysis '{name}' ({method})"
    before = len(reader.problems)

    here = start
    if "start" in table:
        here = _time_at(reader, table["start"], f"{label} start", panel, "analysis", "start", index)
    first, last = panel.periods[0], panel.periods[-1]
    if "from" in table:
        first = _time_at(reader, table["from"], f"{label} from", panel, "analysis", "from", index)
    if "to" in table:
        last = _time_at(reader, table["to"], f"{label} to", panel, "analysis", "to", index)
    comparison = default_comparison
    if "comparison" in table and not spec.needs_comparison:
        reader.add(
            f"{label} uses no comparison units; remove its comparison key",
            "analysis",
            "comparison",
            index,
        )
    elif "comparison" in table:
        comparison = (
            _units(
                reader,
                table["comparison"],
                f"{label} comparison",
                panel,
                "analysis",
                "comparison",
                index,
            )
            or []
        )
        if treated in comparison:
            reader.add(
                f"{label}: comparison includes the intervention unit '{treated}'",
                "analysis",
                "comparison",
                index,
            )
    if len(reader.problems) > before:
        return None
    assert here is not None and first is not None and last is not None

    data_span = f"the data ({panel.file}) run from {panel.periods[0]} to {panel.periods[-1]}"
    for word, period in (("from", first), ("to", last)):
        if not panel.periods[0] <= period <= panel.periods[-1]:
            reader.add(
                f"{label}: {word} {period} is outside the data; {data_span}",
                "analysis",
                word,
                index,
            )
    if first > last:
        reader.add(f"{label}: from {first} is after to {last}", "analysis", "from", index)
    if len(reader.problems) > before:
        return None

    where = ("analysis", "start", index) if "start" in table else ("intervention", "start", 1)
    start_label = f"the start ({here})" if "start" in table else f"the intervention start ({here})"
    if here > last:
        reader.add(
            f"{label}: {start_label} is after the last period analysed ({last}); {data_span}",
            *where,
        )
        return None
    if here <= first:
        reader.add(
            f"{label}: {start_label} is at or before the first period analysed ({first}), so "
            f"there is nothing to compare with; {data_span}",
            *where,
        )
        return None
    periods = panel.periods[(panel.periods >= first) & (panel.periods <= last)]
    n_before = int((periods < here).sum())
    n_after = int((periods >= here).sum())
    freq_word = panel.frequency + "s"
    if n_before < spec.min_before:
        reader.add(
            f"{label} needs at least {spec.min_before} {freq_word} before the start; there "
            f"are {n_before} ({first} to {here - 1})",
            *where,
        )
    if n_after < spec.min_after:
        reader.add(
            f"{label} needs at least {spec.min_after} {freq_word} from the start on; there "
            f"are {n_after} ({here} to {last})",
            *where,
        )
    if spec.needs_comparison and panel.single_series:
        reader.add(
            f"{label} compares the intervention unit with comparison units, but [data] names "
            "no unit column (a single series)",
            "analysis",
            "method",
            index,
        )
    elif spec.needs_comparison and not comparison:
        reader.add(f"{label} needs at least one comparison unit", "analysis", "method", index)
    if spec.needs_population and panel.population is None:
        reader.add(
            f"{label} reports rates per 100,000 person-years and needs [data] population",
            "analysis",
            "method",
            index,
        )
    if len(reader.problems) > before:
        return None
    options = {k: spec.options[k](v) for k, v in table.items() if k not in ANALYSIS_KEYS}
    return Analysis(
        index=index,
        name=name,
        method=method,
        options=options,
        start=here,
        first=first,
        last=last,
        comparison=tuple(comparison if spec.needs_comparison else ()),
    )
