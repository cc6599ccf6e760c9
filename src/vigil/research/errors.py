"""The one error a study can raise: every problem names its file, where in it, and what is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# A study with hundreds of bad rows should still produce a readable message.
MAX_LISTED = 20


@dataclass(frozen=True)
class Problem:
    file: str
    what: str
    row: int | None = None  # 1-based data row of a CSV file (the header is not a row)
    line: int | None = None  # 1-based line of the file

    def __str__(self) -> str:
        if self.row is not None and self.line is not None:
            where = f", row {self.row} (line {self.line})"
        elif self.row is not None:
            where = f", row {self.row}"
        elif self.line is not None:
            where = f", line {self.line}"
        else:
            where = ""
        return f"{self.file}{where}: {self.what}"


class StudyError(Exception):
    """A study that cannot be evaluated as written; never a silently wrong answer."""

    def __init__(self, problems: Problem | Iterable[Problem]) -> None:
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        if not self.problems:
            raise ValueError("StudyError needs at least one problem")
        super().__init__(self._message())

    def _message(self) -> str:
        listed = [str(p) for p in self.problems[:MAX_LISTED]]
        hidden = len(self.problems) - len(listed)
        if hidden:
            listed.append(f"... and {hidden} more problems")
        return "\n".join(listed)


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise StudyError(problems)
