"""Notebook 04 in mock mode never reaches a real AWS account, even when a learner runs a cell again
after the clean-up (tests/test_notebook_exercises.py runs every notebook with each cell twice)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from pathlib import Path
from unittest import mock

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def test_notebook_04_never_reaches_aws_even_when_a_cell_runs_again_after_the_clean_up() -> None:
    """Every request that leaves the kernel goes to a proxy that only counts connections: moto must
    answer them all, also for a cell run again after the clean-up cell (a learner's Shift+Enter)."""
    path = ROOT / "notebooks" / "04_secrets_manager.ipynb"
    notebook = nbformat.read(path, as_version=4)
    aws_cells = [cell for cell in notebook.cells
                 if cell.cell_type == "code" and "sm.create_secret" in cell.source]
    notebook.cells.append(nbformat.from_dict({**aws_cells[0], "id": "again-after-clean-up"}))
    connections: list[bytes] = []
    with socket.create_server(("127.0.0.1", 0)) as proxy:
        proxy.settimeout(0.2)
        port = proxy.getsockname()[1]
        stop = threading.Event()

        def count_connections() -> None:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    connection, _ = proxy.accept()
                    with connection:
                        connections.append(connection.recv(200))

        watcher = threading.Thread(target=count_connections, daemon=True)
        watcher.start()
        proxy_env = {name: f"http://127.0.0.1:{port}"
                     for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy")}
        with mock.patch.dict(os.environ, {**proxy_env, "NO_PROXY": "", "TUTORIAL_PROVIDER": "mock"}):
            NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
        stop.set()
        watcher.join()
    errors = [output.evalue for cell in notebook.cells if cell.cell_type == "code"
              for output in cell.outputs if output.output_type == "error"]
    assert not errors
    assert connections == [], "a request left the kernel for AWS"
