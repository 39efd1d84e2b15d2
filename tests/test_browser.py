"""Every tutorial notebook runs in a real JupyterLab, driven by headless Chromium.

nbval proves the kernel side only; this smoke test proves what a learner sees. It starts
`jupyter lab` from this venv on 127.0.0.1 (random port, per-run token) over a temporary COPY of the
project (so the committed notebooks are never touched, and `../.env.example` still resolves), and
boots JupyterLab once in one Chromium tab. Then for each `notebooks/[0-9]*.ipynb` it opens the
notebook in the running app, clears the outputs, runs all cells through the Run menu, waits until
the run is over, checks that no cell raised, that every mermaid diagram and every plot rendered,
and that no dialog or notification showed, saves a full-page screenshot (JPEG) under pytest's
temporary folder (path printed), and closes the notebook without saving and shuts its kernel down.
The app boots again before a notebook when an earlier one left anything behind.

A cell meant to raise must carry the `raises-exception` tag (JupyterLab, nbval and nbconvert all
honour it); a `# NBVAL_RAISES_EXCEPTION` comment alone stops Run All in JupyterLab.

Skipped when Debian's Chromium (/usr/bin/chromium) is missing, unless BROWSER_TEST_REQUIRED=1
(as in `.ci/run`), which turns the skip into a failure."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
CHROMIUM = Path("/usr/bin/chromium")
# Running as root (containers, CI) needs --no-sandbox; the rest keeps Chromium off the network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# The server sees a copy of the project (notebooks may read e.g. ../.env.example) without these.
_SKIPPED_DIRS = {".git", ".venv", "venv", ".hypothesis", ".ruff_cache", ".pytest_cache", "__pycache__",
                 ".ipynb_checkpoints", "node_modules"}
SERVER_START_TIMEOUT_S = 60
KERNEL_START_TIMEOUT_MS = 60_000
NOTEBOOK_RUN_TIMEOUT_MS = 90_000
RENDER_TIMEOUT_MS = 15_000
MAX_SCREENSHOT_HEIGHT = 16_000
SCREENSHOT_FORMAT = {"type": "jpeg", "quality": 80}

if not CHROMIUM.exists() and os.environ.get("BROWSER_TEST_REQUIRED") == "1":
    raise RuntimeError(f"BROWSER_TEST_REQUIRED=1 but {CHROMIUM} is missing: apt-get install -y chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"browser test SKIPPED: {CHROMIUM} is missing (install it: apt-get install -y chromium)",
    ),
]

# Lab settings for the test server only: every cell attached to the DOM (no windowing, so
# off-screen diagrams render and the screenshot is complete) and no autosave.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}
# The news pop-up is turned off by the project's own lab-settings/overrides.json, as `make lab` does:
# the test checks what a learner gets.

# --- JavaScript run in the page. `panel(path)` finds the open notebook widget by its path. ---
# The app object is exposed by --LabApp.expose_app_in_browser; the error outputs are read from the
# notebook model because in the DOM an error looks exactly like text printed to stderr.
JS_PANEL = """
window.__panel = (path) => {
  for (const w of window.jupyterapp.shell.widgets('main')) {
    if (w.context && w.context.path === path) { return w; }
  }
  return null;
};
"""
JS_KERNEL_IDLE = """(path) => {
  const p = window.__panel && window.jupyterapp && window.__panel(path);
  if (!p || !p.content.isVisible) { return false; }
  return p.sessionContext.kernelDisplayStatus === 'idle';
}"""
JS_ALL_CLEARED = """(path) => Array.from(window.__panel(path).node.querySelectorAll(
  '.jp-CodeCell .jp-InputArea-prompt')).every(e => !/\\d|\\*/.test(e.textContent))"""
# Finished: kernel idle, nothing pending, and every non-empty code cell ran, or one raised without
# the `raises-exception` tag (the kernel then drops the rest). JupyterLab clears the [*] marks on
# ANY error, even a tagged one whose followers still run, so the marks alone are not enough.
JS_RUN_FINISHED = """(path) => {
  const panel = window.__panel(path);
  const pending = Array.from(panel.node.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt'))
    .some(e => e.textContent.includes('*'));
  if (pending || panel.sessionContext.kernelDisplayStatus !== 'idle') { return false; }
  const all = panel.content.model.cells;
  const cells = [];
  for (let i = 0; i < all.length; i++) { cells.push(all.get(i)); }
  const code = cells.filter(c => c.type === 'code' && c.sharedModel.getSource().trim() !== '');
  const raised = (c) => { for (let j = 0; j < c.outputs.length; j++) {
    if (c.outputs.get(j).type === 'error') { return true; } } return false; };
  const stopped = code.some(c => raised(c) && !(c.getMetadata('tags') || []).includes('raises-exception'));
  return stopped || code.every(c => c.executionCount !== null);
}"""
JS_RENDERED = """(path) => {
  const node = window.__panel(path).node;
  const loaded = (img) => img.complete && img.naturalWidth > 0;
  const mermaid = Array.from(node.querySelectorAll('.jp-RenderedMermaid:not(.jp-mod-warning)'))
    .filter(d => Array.from(d.querySelectorAll('img')).some(loaded) || d.querySelector('svg')).length;
  const mermaidErrors = Array.from(node.querySelectorAll('.jp-RenderedMermaid.jp-mod-warning details > pre'))
    .map(e => e.textContent.slice(0, 160));
  const plots = Array.from(node.querySelectorAll('.jp-OutputArea-output img')).filter(loaded).length
    + node.querySelectorAll('.jp-OutputArea-output svg').length;
  return {mermaid, mermaidErrors, plots};
}"""
JS_PICTURES_SETTLED = "(expected) => { const r = (" + JS_RENDERED + """)(expected.path);
  return r.mermaid + r.mermaidErrors.length >= expected.mermaid && r.plots >= expected.plots;
}"""
JS_CELL_REPORT = """(path) => {
  const cells = window.__panel(path).content.model.cells;
  const report = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') { continue; }
    const tags = cell.getMetadata('tags') || [];
    const outputs = [];
    for (let j = 0; j < cell.outputs.length; j++) { outputs.push(cell.outputs.get(j).toJSON()); }
    report.push({index: i, executionCount: cell.executionCount, tags,
                 blank: cell.sharedModel.getSource().trim() === '',
                 firstLine: cell.sharedModel.getSource().split('\\n')[0], outputs});
  }
  return report;
}"""


@dataclass
class LabServer:
    """A running `jupyter lab` and what a client needs to reach it."""

    url: str
    token: str
    root: Path
    log: Path
    ipython_dir: Path  # the kernels' IPYTHONDIR: their history database is in there


@dataclass
class LabRun:
    """What one notebook did when run through JupyterLab's Run menu."""

    notebook: str
    finished: bool
    cells: list[dict]
    expected_mermaid: int
    expected_plots: int
    rendered: dict
    screenshot: Path
    dialogs: list[str] = field(default_factory=list)
    toasts: list[str] = field(default_factory=list)


NOTHING_RENDERED = {"mermaid": 0, "mermaidErrors": [], "plots": 0}


def problems(run: LabRun) -> list[str]:
    """Everything a learner would see go wrong, one line each; empty when the notebook is fine."""
    found = [f"a dialog blocked the notebook: {text!r}" for text in run.dialogs]
    found += [f"a notification covered the outputs: {text!r}" for text in run.toasts]
    if not run.finished:
        found.append(f"the run did not finish within {NOTEBOOK_RUN_TIMEOUT_MS // 1000} s")
    for cell in run.cells:
        expected_error = "raises-exception" in cell["tags"]
        for output in cell["outputs"]:
            if output["output_type"] == "error" and not expected_error:
                found.append(f"cell {cell['index']} ({cell['firstLine']!r}) raised "
                             f"{output['ename']}: {output['evalue']}")
        if cell["executionCount"] is None and not cell["blank"]:  # JupyterLab never runs a blank cell
            found.append(f"cell {cell['index']} ({cell['firstLine']!r}) never ran: Run All stopped before it")
    if run.rendered["mermaid"] < run.expected_mermaid:
        found.append(f"{run.rendered['mermaid']} of {run.expected_mermaid} mermaid diagrams rendered")
    found.extend(f"a mermaid diagram failed: {error}" for error in run.rendered["mermaidErrors"])
    if run.rendered["plots"] < run.expected_plots:
        found.append(f"{run.rendered['plots']} of {run.expected_plots} plots rendered")
    return found


def expected_pictures(notebook: Path) -> tuple[int, int]:
    """(mermaid blocks in markdown, image outputs saved in the committed notebook)."""
    nb = nbformat.read(notebook, as_version=4)
    mermaid = sum(len(re.findall(r"^\s*```+\s*mermaid\s*$", cell.source, flags=re.MULTILINE))
                  for cell in nb.cells if cell.cell_type == "markdown")
    plots = sum(1 for cell in nb.cells if cell.cell_type == "code"
                for output in cell.get("outputs", [])
                if any(mime.startswith("image/") for mime in output.get("data", {})))
    return mermaid, plots


# --- server -----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _api(server: LabServer, path: str, method: str = "GET") -> object:
    # S310: the URL is always our own http://127.0.0.1 server, never user input.
    request = urllib.request.Request(f"{server.url}{path}", method=method,  # noqa: S310
                                     headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        body = response.read()
    return json.loads(body) if body else None


def _not_copied(folder: str, names: list[str]) -> set[str]:
    """What the server's copy of the project leaves out: tooling, caches and any real `.env`."""
    skipped = {name for name in names if name in _SKIPPED_DIRS or name.endswith(".egg-info")}
    return skipped | {name for name in names if name.startswith(".env") and name != ".env.example"}


def _write_lab_settings(settings_dir: Path) -> None:
    for relative, values in LAB_SETTINGS.items():
        target = settings_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


def _wait_until_answering(process: subprocess.Popen, server: LabServer) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}; log: {server.log}\n"
                               + server.log.read_text()[-3000:])
        try:
            _api(server, "/api/status")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)  # polling interval while the server boots, not a timing assumption
    raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_TIMEOUT_S} s; log: {server.log}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """`jupyter lab` from this venv over a throwaway copy of the project; always stopped."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    shutil.copytree(ROOT, root, ignore=_not_copied)
    (root / "selfcheck").mkdir()
    _write_lab_settings(base / "settings")
    env = {**os.environ, "TUTORIAL_PROVIDER": "mock",
           # keep the learner's own Jupyter config, settings and workspaces out of (and safe from) the run
           "JUPYTER_CONFIG_DIR": str(base / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(base / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
           "IPYTHONDIR": str(base / "ipython")}
    env.pop("MPLBACKEND", None)  # a non-inline backend would hide the plots
    port, token = _free_port(), secrets.token_hex(24)
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               f"--LabApp.app_settings_dir={root / 'lab-settings'}", "--LabApp.news_url=None",
               "--LabApp.expose_app_in_browser=True"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    server = LabServer(url=f"http://127.0.0.1:{port}", token=token, root=root, log=base / "server.log",
                       ipython_dir=base / "ipython")
    with server.log.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    try:
        _wait_until_answering(process, server)
        yield server
    finally:
        _stop(process)


# --- browser ----------------------------------------------------------------------------------

VIEWPORT = {"width": 1280, "height": 900}
# Polling interval of the long waits (kernel start, Run All): checking every animation frame would
# take CPU from the kernel on a busy machine for nothing; 100 ms is well under a cell's run time.
POLL_MS = 100
WORKSPACE = "browser-test"
# Open a notebook inside the running app, as a double click in the file browser does.
JS_OPEN = "async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }"
# Close a notebook WITHOUT saving: a clean model closes with no "Save changes?" dialog.
JS_CLOSE_DISCARDING = """(path) => {
  const panel = window.__panel(path);
  if (panel) { panel.context.model.dirty = false; panel.close(); }
}"""
JS_CLOSED = "(path) => window.__panel(path) === null"
# Ready for the next notebook: the app is up, and nothing is left over from an earlier one.
JS_READY = """() => !!(window.jupyterapp && window.__panel)
  && !document.querySelector('.jp-Dialog, .Toastify__toast')
  && !Array.from(window.jupyterapp.shell.widgets('main')).some(w => w.context)"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium context for every notebook (JupyterLab's scripts then come from cache)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium.new_context(viewport=VIEWPORT)
        finally:
            chromium.close()


@dataclass
class Lab:
    """One JupyterLab booted once in one browser tab and shared by the notebooks of this module.

    Each notebook is opened in the running app, then closed without saving and its kernel shut
    down. Before each notebook, `ready()` boots the app again (in an emptied workspace, so no tab is
    restored) if an earlier one left anything behind: a dialog, a toast, an open notebook, a dead page."""

    context: object
    server: LabServer
    page: object = None
    boots: int = 0
    shutdown: threading.Thread | None = None
    shutdown_errors: list[Exception] = field(default_factory=list)

    def boot(self) -> None:
        if self.page is not None:
            self.page.close()  # a new tab: no "leave the page?" question for an unsaved notebook
        self.page = self.context.new_page()
        self.page.add_init_script(JS_PANEL)
        # `?reset` empties the workspace: nothing restored from an earlier boot.
        self.page.goto(f"{self.server.url}/lab/workspaces/{WORKSPACE}?reset&token={self.server.token}")
        self.page.wait_for_function("() => !!window.jupyterapp", timeout=KERNEL_START_TIMEOUT_MS)
        self.page.evaluate("() => window.jupyterapp.restored.then(() => true)")
        self.boots += 1

    def ready(self) -> object:
        """The page, with no notebook, dialog or toast left on it; booted again if needed."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            fine = self.page is not None and not self.page.is_closed() and self.page.evaluate(JS_READY)
        except PlaywrightError:
            fine = False
        if not fine:
            self.boot()
        self.page.set_viewport_size(VIEWPORT)
        return self.page

    def close(self, path: str) -> None:
        """Close the notebook at `path` discarding its changes, then shut its kernel down.

        The kernel shuts down in the background while the next notebook starts its own kernel:
        the server waits for the old process to exit, which costs a second or two for nothing."""
        from playwright.sync_api import Error as PlaywrightError

        try:
            self.page.evaluate(JS_CLOSE_DISCARDING, path)
            self.page.wait_for_function(JS_CLOSED, arg=path, timeout=10_000, polling=POLL_MS)
        except PlaywrightError:
            pass  # ready() sees the notebook still open (or the page gone) and boots again
        finally:
            self.wait_for_shutdown()
            # Listed now, so that the next notebook's session is never among them.
            sessions = [session["id"] for session in _api(self.server, "/api/sessions")]
            self.shutdown = threading.Thread(target=self._delete_sessions, args=(sessions,), daemon=True)
            self.shutdown.start()

    def _delete_sessions(self, sessions: list[str]) -> None:
        try:
            for session in sessions:
                _api(self.server, f"/api/sessions/{session}", method="DELETE")
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            self.shutdown_errors.append(error)

    def wait_for_shutdown(self) -> None:
        """Wait until the kernels of the notebooks closed so far are shut down."""
        if self.shutdown is not None:
            self.shutdown.join(timeout=SERVER_START_TIMEOUT_S)
            self.shutdown = None
        if self.shutdown_errors:
            raise RuntimeError(f"a kernel did not shut down: {self.shutdown_errors.pop()!r}")


@pytest.fixture(scope="module")
def lab(browser, lab_server: LabServer) -> Iterator[Lab]:
    shared = Lab(browser, lab_server)
    shared.boot()
    try:
        yield shared
    finally:
        shared.wait_for_shutdown()
        shared.page.close()


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("browser-screenshots")


def _click_menu(page, menu: str, command: str) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(f"^{menu}$")).click()
    page.locator(f'.lm-Menu li[data-command="{command}"]').click()


def _open_dialogs(page) -> list[str]:
    return [text.strip() for text in page.locator(".jp-Dialog-content").all_inner_texts()]


def _toasts(page) -> list[str]:
    """Notification toasts on screen (JupyterLab's news question is one)."""
    return [text.strip() for text in page.locator(".Toastify__toast").all_inner_texts()]


def _full_screenshot(page, path: str, target: Path) -> None:
    """Grow the window until the whole notebook fits, so one picture shows every cell."""
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    hidden = page.evaluate("""(path) => {
      const scroller = window.__panel(path).node.querySelector('.jp-WindowedPanel-outer');
      return scroller ? scroller.scrollHeight - scroller.clientHeight : 0;
    }""", path)
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    page.set_viewport_size({"width": width, "height": min(MAX_SCREENSHOT_HEIGHT, height + hidden)})
    page.evaluate("""(path) => {
      const scroller = window.__panel(path).node.querySelector('.jp-WindowedPanel-outer');
      if (scroller) { scroller.scrollTop = 0; }
    }""", path)
    page.screenshot(path=str(target), **SCREENSHOT_FORMAT)


def _open(page, path: str) -> None:
    page.evaluate(JS_OPEN, path)
    page.wait_for_function(JS_KERNEL_IDLE, arg=path, timeout=KERNEL_START_TIMEOUT_MS, polling=POLL_MS)


def run_in_lab(lab: Lab, notebook: Path, screenshot_dir: Path) -> LabRun:
    """Open `notebook` (a file under the server's root) in JupyterLab, clear it, Run All, and observe."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    path = notebook.relative_to(lab.server.root).as_posix()
    run = LabRun(path, False, [], *expected_pictures(notebook), NOTHING_RENDERED,
                 screenshot_dir / f"{notebook.stem}.{SCREENSHOT_FORMAT['type']}")
    page = lab.ready()
    try:
        try:
            _open(page, path)
        except PlaywrightTimeout:
            page.screenshot(path=str(run.screenshot), **SCREENSHOT_FORMAT)
            run.dialogs = _open_dialogs(page) or ["the notebook's kernel never became idle"]
            return run
        # Clear first, so every output checked below comes from this run, not from the file.
        _click_menu(page, "Edit", "editmenu:clear-all")
        page.wait_for_function(JS_ALL_CLEARED, arg=path, timeout=10_000)
        _click_menu(page, "Run", "runmenu:run-all")
        try:
            page.wait_for_function(JS_RUN_FINISHED, arg=path, timeout=NOTEBOOK_RUN_TIMEOUT_MS,
                                   polling=POLL_MS)
            run.finished = True
        except PlaywrightTimeout:
            pass  # problems() reports the unfinished run
        expected = {"path": path, "mermaid": run.expected_mermaid, "plots": run.expected_plots}
        with contextlib.suppress(PlaywrightTimeout):  # problems() reports what is missing
            page.wait_for_function(JS_PICTURES_SETTLED, arg=expected, timeout=RENDER_TIMEOUT_MS)
        run.rendered = page.evaluate(JS_RENDERED, path)
        run.cells = page.evaluate(JS_CELL_REPORT, path)
        run.dialogs = _open_dialogs(page)
        run.toasts = _toasts(page)
        _full_screenshot(page, path, run.screenshot)
        return run
    finally:
        lab.close(path)  # without saving; the copy is thrown away anyway


# --- the tests --------------------------------------------------------------------------------

@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_cleanly_in_jupyterlab(notebook, lab, screenshot_dir, capsys):
    run = run_in_lab(lab, lab.server.root / "notebooks" / notebook.name, screenshot_dir)
    with capsys.disabled():
        print(f"\n  {run.rendered['mermaid']}/{run.expected_mermaid} mermaid diagrams and "
              f"{run.rendered['plots']}/{run.expected_plots} plots rendered; screenshot: {run.screenshot}")
    found = problems(run)
    assert not found, f"{notebook.name} in JupyterLab (see {run.screenshot}):\n" + "\n".join(found)


# A tiny valid PNG: the committed output that tells the checker "this cell draws a plot".
_PNG_1PX = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
            "AAAABJRU5ErkJggg==")
_NOTEBOOK_METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "language_info": {"name": "python"},
}


def _write_notebook(path: Path, cells: list) -> Path:
    nbformat.write(new_notebook(cells=cells, metadata=_NOTEBOOK_METADATA), path)
    return path


def test_checker_accepts_a_clean_notebook_run_on_the_venv_kernel(lab, screenshot_dir):
    plot = new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()",
                         outputs=[new_output("display_data", data={"image/png": _PNG_1PX})])
    expected_failure = new_code_cell("raise KeyError('expected, and tagged so')",
                                     metadata={"tags": ["raises-exception"]})
    notebook = _write_notebook(lab.server.root / "selfcheck" / "clean.ipynb", [
        new_markdown_cell("# Clean\n\n```mermaid\nflowchart LR\n  key --> env --> app\n```"),
        new_code_cell("import os, sys\nprint(sys.prefix)\nprint(os.environ['TUTORIAL_PROVIDER'])"),
        new_code_cell("import sys\nprint('stderr is not an error', file=sys.stderr)"),
        plot,
        expected_failure,
        new_markdown_cell("```mermaid\nsequenceDiagram\n  app->>vault: get key\n```"),
        new_code_cell("print('ran after the expected failure')"),
    ])

    run = run_in_lab(lab, notebook, screenshot_dir)

    assert problems(run) == []
    assert (run.expected_mermaid, run.expected_plots) == (2, 1)
    assert run.rendered == {"mermaid": 2, "mermaidErrors": [], "plots": 1}
    kernel_output = run.cells[0]["outputs"][0]["text"]
    assert kernel_output == f"{sys.prefix}\nmock\n", "the kernel is not this venv's python in mock mode"


# A notification as JupyterLab's news question would raise one: it stays until dismissed.
_TOAST_CELL = """from IPython.display import Javascript
Javascript("window.jupyterapp.commands.execute('apputils:notify', "
           "{message: 'a toast over the outputs', type: 'default', options: {autoClose: false}})")"""


def test_checker_reports_a_cell_that_raises_a_broken_diagram_and_a_notification(lab, screenshot_dir):
    notebook = _write_notebook(lab.server.root / "selfcheck" / "broken.ipynb", [
        new_code_cell(_TOAST_CELL),
        new_markdown_cell("```mermaid\nflowchart LR\n  this is --> -->not mermaid(((\n```"),
        new_code_cell("x = 1"),
        new_code_cell("raise ValueError('boom from a throwaway notebook')"),
        new_code_cell("print('never reached')"),
    ])

    found = problems(run_in_lab(lab, notebook, screenshot_dir))

    assert any("raised ValueError: boom from a throwaway notebook" in line for line in found), found
    assert any("print('never reached')" in line and "never ran" in line for line in found), found
    assert "0 of 1 mermaid diagrams rendered" in found, found
    assert "a notification covered the outputs: 'a toast over the outputs'" in found, found
    assert any(line.startswith("a mermaid diagram failed: Error: Parse error") for line in found), found
    boots = lab.boots
    lab.ready()
    assert lab.boots == boots + 1, "the next notebook would share the page with the notification"



# The first cell gives the kernel a real keyring with no entry (an encrypted file, unlocked with a
# test password), so the keyring library's default backend cannot ask for a password of its own.
_EMPTY_KEYRING_CELL = """import keyring, tempfile
from keyrings.cryptfile.cryptfile import CryptFileKeyring
empty = CryptFileKeyring()
empty.time_cost, empty.memory_cost = 1, 2**10  # a test keyring: no need for a slow key derivation
empty.file_path = tempfile.mkdtemp() + '/keyring.cfg'
empty.keyring_key = 'a-test-password-for-an-empty-keyring'
keyring.set_keyring(empty)"""
_PROMPT_CALL = b"get_key('OPENAI_API_KEY', prompt=True)"
_PROMPT_CELL = """import os
os.environ.pop('OPENAI_API_KEY', None)
from helpers.key_formats import fingerprint
from helpers.notebook_keys import get_key
print('fingerprint', fingerprint(get_key('OPENAI_API_KEY', prompt=True)))"""


def test_a_key_typed_at_the_get_key_prompt_is_kept_nowhere(lab, screenshot_dir):
    from helpers.key_formats import fake_key, fingerprint

    key = fake_key("openai-project", 1507)
    notebook = _write_notebook(lab.server.root / "selfcheck" / "prompt.ipynb",
                               [new_code_cell(_EMPTY_KEYRING_CELL), new_code_cell(_PROMPT_CELL)])
    path = notebook.relative_to(lab.server.root).as_posix()
    page = lab.ready()
    try:
        _open(page, path)
        _click_menu(page, "Run", "runmenu:run-all")
        password = page.locator("input.jp-Stdin-input")
        password.wait_for(timeout=NOTEBOOK_RUN_TIMEOUT_MS)
        assert password.get_attribute("type") == "password", "the prompt is not a password field"
        assert "OPENAI_API_KEY (typing is hidden):" in page.locator(".jp-Stdin").first.inner_text()
        password.fill(key)
        password.press("Enter")
        page.wait_for_function(JS_RUN_FINISHED, arg=path, timeout=NOTEBOOK_RUN_TIMEOUT_MS)
        cells = page.evaluate(JS_CELL_REPORT, path)
        _click_menu(page, "File", "docmanager:save")  # as Ctrl+S: writes the file, then its checkpoint
        checkpoint = notebook.parent / ".ipynb_checkpoints" / "prompt-checkpoint.ipynb"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (f"fingerprint {fingerprint(key)}" not in notebook.read_text()
                                                or not checkpoint.exists()):
            time.sleep(0.2)  # polling for the save to land on disk
        page.screenshot(path=str(screenshot_dir / f"prompt.{SCREENSHOT_FORMAT['type']}"), **SCREENSHOT_FORMAT)
    finally:
        lab.close(path)
        lab.wait_for_shutdown()  # the kernel writes the rest of its history as it exits

    shown = [output.get("text", "") for cell in cells for output in cell["outputs"]]
    assert f"fingerprint {fingerprint(key)}\n" in shown, cells
    saved = notebook.read_text()
    assert f"fingerprint {fingerprint(key)}" in saved, "the notebook was not saved"
    assert key not in saved
    assert checkpoint.exists() and key not in checkpoint.read_text()
    history = lab.server.ipython_dir / "profile_default" / "history.sqlite"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (history.exists() and _PROMPT_CALL in history.read_bytes()):
        time.sleep(0.2)  # the kernel's history thread writes as it shuts down
    database = history.read_bytes()
    assert _PROMPT_CALL in database, "this is not the kernel's history database"
    assert key.encode() not in database
