"""The README's times come from tools.reading_time, and every notebook's core path keeps its budget."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools.reading_time import (
    CODE_LINE_BUDGET,
    NOTEBOOKS,
    WORD_BUDGET,
    measure,
    measure_all,
    readme_total,
    time_line,
)

ROOT = Path(__file__).resolve().parents[1]
TIMES = measure_all()
README_ROW = re.compile(
    r"^\| `(?P<name>\d\d_\w+\.ipynb)` \|.*\| (?P<core>\d+) min(?: \(\+(?P<optional>\d+)\))? \|$",
    re.MULTILINE)


def readme_times() -> dict[str, tuple[int, int]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return {m["name"]: (int(m["core"]), int(m["optional"] or 0)) for m in README_ROW.finditer(text)}


def test_every_notebook_has_a_row_in_the_readme_table() -> None:
    assert sorted(readme_times()) == [t.name for t in TIMES]


@pytest.mark.parametrize("time", TIMES, ids=[t.name for t in TIMES])
def test_the_readme_gives_the_measured_core_and_optional_minutes(time) -> None:
    assert readme_times()[time.name] == (time.core_minutes, time.optional_minutes)


@pytest.mark.parametrize("time", TIMES, ids=[t.name for t in TIMES])
def test_the_core_path_keeps_to_the_word_and_code_line_budget(time) -> None:
    assert time.core.words <= WORD_BUDGET, f"{time.name}: {time.core.words} words before Going further"
    assert time.core.code_lines <= CODE_LINE_BUDGET, f"{time.name}: {time.core.code_lines} code lines"


def test_the_readme_total_is_the_sum_of_the_core_paths() -> None:
    assert readme_total(TIMES) in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("time", TIMES, ids=[t.name for t in TIMES])
def test_each_notebook_states_its_own_measured_time(time) -> None:
    assert time_line(time) in (NOTEBOOKS / time.name).read_text(encoding="utf-8")


def test_words_and_code_lines_are_counted_apart_before_and_after_going_further(tmp_path: Path) -> None:
    notebook = new_notebook(cells=[
        new_markdown_cell("# Title\n\nfive words in this one"),  # 7 words
        new_code_cell("x = 1\n\n   \ny = 2"),  # 2 lines: blank lines do not count
        new_markdown_cell("## What's next\n\nmore"),  # 4 words
        new_markdown_cell("## Going further (optional)\n\na deep dive"),  # 7 words
        new_code_cell("z = 3"),
        new_code_cell(""),  # a cell with no line is still a cell to run
    ])
    path = tmp_path / "01_example.ipynb"
    nbformat.write(notebook, path)
    measured = measure(path)
    assert (measured.core.words, measured.core.code_lines, measured.core.code_cells) == (11, 2, 1)
    assert (measured.optional.words, measured.optional.code_lines, measured.optional.code_cells) == (7, 1, 2)
    # 11 words at 200 a minute + one cell at 20 s + 10 min of exercise = 10.4 min, rounded up
    assert measured.core_minutes == 11
    # 7 words + two cells at 20 s = 0.7 min, rounded up; no exercise in the optional part
    assert measured.optional_minutes == 1


def test_a_notebook_without_going_further_is_all_core_path(tmp_path: Path) -> None:
    path = tmp_path / "02_example.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("going further is not a heading here")]), path)
    measured = measure(path)
    assert measured.core.words == 7 and measured.optional_minutes == 0
