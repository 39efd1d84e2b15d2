"""How long each notebook takes a newcomer: ``python -m tools.reading_time``.

The core path of a notebook is everything before its ``## Going further (optional)`` heading; the
optional part is what follows. Each is measured the same way, and the README's times come from here
(``tests/test_reading_time.py`` checks that they agree and that every core path keeps its budget):

- markdown read at 200 words a minute (a word is a run of non-blank characters);
- 20 seconds to run each code cell and read its output;
- 10 minutes for the exercise, on the core path only.

``python -m tools.reading_time --write`` puts the figures into the README's table and total and into
each notebook's "Time to learn" line (a notebook's own words count, so run it until nothing changes).

The budget for a core path (issue 14): at most 1,500 words of markdown and 150 lines of code
(non-blank lines of code cells).
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

WORDS_PER_MINUTE = 200
SECONDS_PER_CODE_CELL = 20
EXERCISE_MINUTES = 10
WORD_BUDGET = 1500
CODE_LINE_BUDGET = 150

_OPTIONAL_HEADING = re.compile(r"^#{1,6}\s*Going further", re.MULTILINE)
_TIME_LINE = re.compile(r"\*\*Time to learn\*\*: [^\n]*")
_TOTAL_LINE = re.compile(
    r"^About \d+ minutes \(\d+ h \d+ min\) for the core path of all seven, and \d+ minutes more",
    re.MULTILINE)


@dataclass(frozen=True)
class Part:
    """The words, code lines and code cells of one part of a notebook."""

    words: int = 0
    code_lines: int = 0
    code_cells: int = 0

    def minutes(self, *, with_exercise: bool) -> int:
        """Minutes to work through this part, rounded up."""
        exact = (self.words / WORDS_PER_MINUTE + self.code_cells * SECONDS_PER_CODE_CELL / 60
                 + (EXERCISE_MINUTES if with_exercise else 0))
        return math.ceil(exact) if exact else 0

    def plus(self, cell: dict[str, object]) -> Part:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else str(cell["source"])
        if cell["cell_type"] == "markdown":
            return Part(self.words + len(source.split()), self.code_lines, self.code_cells)
        if cell["cell_type"] == "code":
            lines = sum(1 for line in source.splitlines() if line.strip())
            return Part(self.words, self.code_lines + lines, self.code_cells + 1)
        return self


@dataclass(frozen=True)
class NotebookTime:
    name: str
    core: Part
    optional: Part

    @property
    def core_minutes(self) -> int:
        return self.core.minutes(with_exercise=True)

    @property
    def optional_minutes(self) -> int:
        return self.optional.minutes(with_exercise=False)

    @property
    def within_budget(self) -> bool:
        return self.core.words <= WORD_BUDGET and self.core.code_lines <= CODE_LINE_BUDGET


def measure(path: Path) -> NotebookTime:
    """Split a notebook at its "Going further" heading and measure both parts."""
    core, optional, in_core = Part(), Part(), True
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown" and _OPTIONAL_HEADING.search("".join(cell["source"])):
            in_core = False
        if in_core:
            core = core.plus(cell)
        else:
            optional = optional.plus(cell)
    return NotebookTime(path.name, core, optional)


def measure_all(folder: Path = NOTEBOOKS) -> list[NotebookTime]:
    return [measure(path) for path in sorted(folder.glob("[0-9]*.ipynb"))]


def time_line(time: NotebookTime) -> str:
    return (f"**Time to learn**: {time.core_minutes} minutes "
            f"(the optional part: {time.optional_minutes} more).")


def readme_total(times: list[NotebookTime]) -> str:
    total = sum(t.core_minutes for t in times)
    return (f"About {total} minutes ({total // 60} h {total % 60} min) for the core path of all seven, "
            f"and {sum(t.optional_minutes for t in times)} minutes more")


def _write_notebook_line(path: Path, time: NotebookTime) -> bool:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    changed = False
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        updated = _TIME_LINE.sub(time_line(time), source)
        if updated != source:
            cell["source"], changed = updated.splitlines(keepends=True), True
    if changed:  # the layout nbformat writes: one space of indent, UTF-8, a final newline
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


def _write_readme(times: list[NotebookTime]) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    for t in times:
        row = re.compile(rf"^(\| `{re.escape(t.name)}` \|.*\| )\d+ min(?: \(\+\d+\))? \|$", re.MULTILINE)
        optional = f" (+{t.optional_minutes})" if t.optional_minutes else ""
        text = row.sub(lambda m, t=t, o=optional: f"{m.group(1)}{t.core_minutes} min{o} |", text)
    readme.write_text(_TOTAL_LINE.sub(readme_total(times), text), encoding="utf-8")


def write() -> None:
    """Put the measured times into the notebooks and the README, until they no longer change."""
    paths = sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    while any([_write_notebook_line(path, measure(path)) for path in paths]):
        pass
    _write_readme(measure_all())


def main() -> None:
    if "--write" in sys.argv[1:]:
        write()
    times = measure_all()
    print(f"{'notebook':38} {'words':>6} {'lines':>6} {'cells':>6} {'core':>6} {'optional':>9}")
    for t in times:
        flag = "" if t.within_budget else "  OVER BUDGET"
        print(f"{t.name:38} {t.core.words:6} {t.core.code_lines:6} {t.core.code_cells:6} "
              f"{t.core_minutes:4} m {t.optional_minutes:7} m{flag}")
    core_total = sum(t.core_minutes for t in times)
    optional_total = sum(t.optional_minutes for t in times)
    print(f"total: core path {core_total} min ({core_total / 60:.1f} h), optional parts {optional_total} min")


if __name__ == "__main__":
    main()
