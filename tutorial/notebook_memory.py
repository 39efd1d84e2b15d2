"""Notebook 07's probes: run a throwaway notebook as JupyterLab would, then look for a key in every
place a notebook keeps what it ran.

`run_and_save` executes a notebook in a fresh kernel (nbclient) and saves it the way JupyterLab's
File > Save does: through jupyter_server's `FileContentsManager` (the class the server itself
saves with), which also writes the checkpoint ``.ipynb_checkpoints/<name>-checkpoint.ipynb``.
`history_search` runs ``%history -g`` in a *new* kernel, which is what any later session finds in
IPython's history database. Kernels inherit this process's environment, so set ``IPYTHONDIR``
to a temporary folder first: the history then goes to a throwaway profile, not yours.

Needs: nothing of helpers/; nbclient, nbformat, jupyter_server (all installed with JupyterLab).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nbformat
from jupyter_server.services.contents.filemanager import FileContentsManager
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook

__all__ = ["PLACES", "checkpoint_of", "history_database", "history_search", "run_and_save", "where_is"]

PLACES = ("notebook file: cell sources", "notebook file: outputs", ".ipynb_checkpoints copy",
          "IPython history database")
_KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}}


def run_and_save(cells: list[str], folder: Path, name: str) -> NotebookNode:
    """Run `cells` in a new kernel started in `folder`, then save ``folder/name`` and its checkpoint."""
    notebook = _notebook(cells)
    _client(notebook, folder).execute(stderr=subprocess.DEVNULL)
    contents = FileContentsManager(root_dir=str(folder))
    contents.save({"type": "notebook", "format": "json", "content": notebook}, name)  # type: ignore[no-untyped-call]
    contents.create_checkpoint(name)  # type: ignore[no-untyped-call]
    return notebook


def history_search(pattern: str, folder: Path) -> str:
    """What ``%history -g <pattern>`` prints in a new kernel: every past session's matching inputs."""
    notebook = _notebook([f"%history -g {pattern}"])
    _client(notebook, folder).execute(stderr=subprocess.DEVNULL)
    return "".join(output.get("text", "") for output in notebook.cells[0].outputs)


def _notebook(cells: list[str]) -> NotebookNode:
    code_cells = [new_code_cell(source) for source in cells]  # type: ignore[no-untyped-call]
    notebook: NotebookNode = new_notebook(cells=code_cells, metadata=_KERNEL)  # type: ignore[no-untyped-call]
    return notebook


def _client(notebook: NotebookNode, folder: Path) -> NotebookClient:
    # nbclient's default history file is ":memory:" (nothing reaches the disk); a kernel started
    # by JupyterLab writes to the profile's history.sqlite, so the probe does too. The kernel's
    # stderr (a warning about its local TCP ports) is not part of the demo.
    return NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                          ipython_hist_file=str(history_database()),
                          resources={"metadata": {"path": str(folder)}})


def checkpoint_of(notebook: Path) -> Path:
    return notebook.parent / ".ipynb_checkpoints" / f"{notebook.stem}-checkpoint{notebook.suffix}"


def history_database() -> Path:
    """The history file of the default profile under ``IPYTHONDIR`` (IPython's default: ~/.ipython)."""
    return Path(os.environ.get("IPYTHONDIR", Path.home() / ".ipython")) / "profile_default" / "history.sqlite"


def where_is(key: str, notebook: Path) -> dict[str, bool]:
    """For each of `PLACES`, whether `key` is there (the history database is read as raw bytes)."""
    saved = nbformat.read(notebook, as_version=4)  # type: ignore[no-untyped-call]
    sources = "".join(cell.source for cell in saved.cells)
    outputs = "".join(str(cell.get("outputs", "")) for cell in saved.cells)
    database = history_database()
    return dict(zip(PLACES, (
        key in sources, key in outputs,
        checkpoint_of(notebook).exists() and key in checkpoint_of(notebook).read_text(),
        database.exists() and key.encode() in database.read_bytes(),
    ), strict=True))
