"""tutorial.notebook_memory: the probes notebook 07 relies on find a key where it is, and only there,
through a real kernel, jupyter_server's contents manager and IPython's history database."""

from __future__ import annotations

import base64
from pathlib import Path

import nbformat
import pytest

from helpers.key_formats import fake_key
from tutorial.notebook_memory import (
    PLACES,
    checkpoint_of,
    history_database,
    history_search,
    run_and_save,
    where_is,
)

KEY = fake_key("openai-project", 23)
OTHER = fake_key("openai-project", 24)
ENCODED = base64.b64encode(KEY.encode()).decode()  # the key never written out in the cell


@pytest.fixture
def profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway IPython profile for the kernels the probes start."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return tmp_path / "ipython"


def test_a_key_in_a_cell_is_found_in_the_file_the_checkpoint_and_the_history(
        tmp_path: Path, profile: Path) -> None:
    saved = run_and_save([f"key = '{KEY}'", "key[:3]"], tmp_path, "demo.ipynb")
    assert saved.cells[1].outputs[0]["data"]["text/plain"] == "'sk-'"
    assert checkpoint_of(tmp_path / "demo.ipynb") == tmp_path / ".ipynb_checkpoints" / "demo-checkpoint.ipynb"
    checkpoint = nbformat.read(checkpoint_of(tmp_path / "demo.ipynb"), as_version=4)
    assert checkpoint.cells[0].source == f"key = '{KEY}'"
    assert history_database() == profile / "profile_default" / "history.sqlite"
    assert where_is(KEY, tmp_path / "demo.ipynb") == {
        PLACES[0]: True, PLACES[1]: False, PLACES[2]: True, PLACES[3]: True}
    assert where_is(OTHER, tmp_path / "demo.ipynb") == dict.fromkeys(PLACES, False)
    found = history_search("*sk-proj-*", tmp_path)
    assert f" 1/1: key = '{KEY}'\n" in found


def test_an_output_alone_is_found_in_the_outputs_only(tmp_path: Path, profile: Path) -> None:
    run_and_save(["import base64", f"base64.b64decode('{ENCODED}').decode()"], tmp_path, "shown.ipynb")
    assert where_is(KEY, tmp_path / "shown.ipynb") == {
        PLACES[0]: False, PLACES[1]: True, PLACES[2]: True, PLACES[3]: False}
