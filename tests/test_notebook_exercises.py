"""Every notebook as a learner meets it: one `exercise` cell and one `exercise-check` cell; the
committed notebook shows the stub's ❌; and the notebook, run in a real kernel with the reference
solution in the exercise cell, each code cell twice in a row (Shift+Enter pressed again), from the
project root (where VS Code starts kernels; nbval covers notebooks/), ends without an error and
prints ✅ in both runs of the check."""

from __future__ import annotations

import copy
import importlib
import os
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tutorial.exercises import NOT_DONE, Exercise

PROJECT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def tagged(notebook: Any, tag: str) -> list[int]:
    return [index for index, cell in enumerate(notebook.cells) if tag in cell.metadata.get("tags", [])]


def exercise_cells(notebook: Any) -> tuple[int, int]:
    (exercise,), (check,) = tagged(notebook, "exercise"), tagged(notebook, "exercise-check")
    return exercise, check


def text_of(cell: Any, stream: str = "stdout") -> str:
    return "".join(output.get("text", "") for output in cell.outputs
                   if output.output_type == "stream" and output.get("name") == stream)


def errors_in(notebook: Any) -> list[str]:
    return [f"cell {index}: {output.ename}: {output.evalue}" for index, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" for output in cell.outputs if output.output_type == "error"]


def exercise_of(path: Path) -> Exercise:
    number = re.match(r"\d\d", path.name)
    assert number is not None
    exercise = importlib.import_module(f"tutorial.exercises.nb{number.group()}").exercise
    assert isinstance(exercise, Exercise)
    return exercise


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_one_exercise_cell_then_its_check_which_shows_the_stubs_cross(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    assert len(tagged(notebook, "exercise")) == 1, "exactly one cell tagged `exercise`"
    assert len(tagged(notebook, "exercise-check")) == 1, "exactly one cell tagged `exercise-check`"
    exercise, check = exercise_cells(notebook)
    assert check == exercise + 1, "the check cell comes right after the exercise cell"
    assert "..." in notebook.cells[exercise].source, "the exercise ships as a stub"
    assert "exercise.check(" in notebook.cells[check].source
    shown = text_of(notebook.cells[check])
    stub_verdict = f"❌ {NOT_DONE}\nhint: {exercise_of(path).hint_text}\n"
    assert shown == stub_verdict, "the saved output is not today's: re-run the notebook"
    assert not errors_in(notebook)


def each_code_cell_twice(notebook: Any) -> Any:
    """The notebook with every code cell twice in a row (a cell tagged `raises-exception` once)."""
    doubled = copy.deepcopy(notebook)
    doubled.cells = [copy.deepcopy(cell) for cell in notebook.cells
                     for _ in range(2 if cell.cell_type == "code"
                                    and "raises-exception" not in cell.metadata.get("tags", []) else 1)]
    return doubled


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_reference_solution_gets_a_tick_with_every_cell_run_twice_from_the_project_root(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUTORIAL_PROVIDER", "mock")
    search_path = [str(PROJECT), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, search_path)))
    notebook = nbformat.read(path, as_version=4)
    exercise, _check = exercise_cells(notebook)
    notebook.cells[exercise].source = exercise_of(path).solution_code
    run = each_code_cell_twice(notebook)
    NotebookClient(run, timeout=600, startup_timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(PROJECT)}}).execute()
    assert not errors_in(run)
    checks = [run.cells[index] for index in tagged(run, "exercise-check")]
    assert len(checks) == 2
    for cell in checks:
        shown = text_of(cell)
        assert shown.startswith("✅ ") and "❌" not in shown, (shown, text_of(cell, "stderr"))
