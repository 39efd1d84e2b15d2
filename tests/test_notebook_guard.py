"""Tests of helpers.notebook_guard through real kernels (nbclient) and a plain IPython shell: what
a cell shows, the server console, the history database, the %logstart file."""

from __future__ import annotations

import atexit
import base64
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.key_formats import fake_key

KEY = fake_key("openai-project", 1)
# A secret with no key shape: only the environment variable's name says it is secret.
ENV_ONLY_SECRET = "hunter2-FAKE-not-a-shape"
ENV_ONLY_MARKER = "[REDACTED known-secret"
KEY_MARKER = "[REDACTED openai-project"

Outputs = list[dict]


class KernelRunner:
    """Runs one cell at a time in a live kernel; keeps each cell's outputs and execute_reply."""

    def __init__(self, client: NotebookClient) -> None:
        self.client = client
        self.replies: list[dict] = []
        client.on_cell_executed = lambda **kw: self.replies.append(kw["execute_reply"])

    def __call__(self, source: str) -> Outputs:
        cell = nbformat.v4.new_code_cell(source)
        self.client.nb.cells.append(cell)
        self.client.execute_cell(cell, len(self.client.nb.cells) - 1)
        return [dict(output) for output in cell.outputs]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, named_secrets: dict[str, str]) -> Iterator[KernelRunner]:
    """One kernel for the module, with the guard loaded, `key` defined and the secret variables of
    `named_secrets` set."""
    folder = tmp_path_factory.mktemp("kernel")
    client = NotebookClient(nbformat.v4.new_notebook(), timeout=30, allow_errors=True,
                            kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    # Without PYTEST_CURRENT_TEST, which changes how ipykernel captures output: as under Jupyter.
    env = {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}
    env["OPENAI_API_KEY"] = ENV_ONLY_SECRET
    env.update(named_secrets)
    with client.setup_kernel(env=env):
        runner = KernelRunner(client)
        assert runner("%load_ext helpers.notebook_guard") == []
        runner(f"key = {KEY!r}")
        yield runner


def shown(outputs: Outputs) -> str:
    """Everything the outputs would put in a saved notebook, as one string."""
    return json.dumps(outputs, ensure_ascii=False)


def assert_redacted(outputs: Outputs, marker: str = KEY_MARKER, secret: str = KEY) -> None:
    assert outputs, "the cell showed nothing"
    text = shown(outputs)
    assert secret not in text
    assert marker in text


# --- a real kernel ---------------------------------------------------------------------------


def test_stdout(run: KernelRunner) -> None:
    outputs = run("print('the key is', key)")
    assert outputs[0]["name"] == "stdout"
    assert outputs[0]["text"].startswith("the key is [REDACTED openai-project ")


def test_stderr(run: KernelRunner) -> None:
    outputs = run("import sys\nprint(key, file=sys.stderr)")
    assert outputs[0]["name"] == "stderr"
    assert_redacted(outputs)


def test_output_from_another_thread_and_a_shell_command(run: KernelRunner) -> None:
    assert_redacted(run("import threading\nthread = threading.Thread(target=print, args=(key,))\n"
                        "thread.start(); thread.join()"))
    assert_redacted(run("!echo {key}"))  # a shell command, through IPython's pipe


def test_last_expression_value(run: KernelRunner) -> None:
    outputs = run("key")
    assert outputs[0]["output_type"] == "execute_result"
    assert_redacted(outputs)


@pytest.mark.parametrize(("display_call", "mimetype"), [
    ("HTML(f'<b>{key}</b>')", "text/html"),
    ("Markdown(f'`{key}`')", "text/markdown"),
    ("JSON({'api_key': key, 'more': [key]})", "application/json"),
    ("key", "text/plain"),
])
def test_display(run: KernelRunner, display_call: str, mimetype: str) -> None:
    outputs = run(f"from IPython.display import HTML, JSON, Markdown, display\ndisplay({display_call})")
    assert outputs[0]["output_type"] == "display_data"
    assert mimetype in outputs[0]["data"]
    assert_redacted(outputs)


@pytest.mark.parametrize("mimetype", [
    "application/xml", "application/x-yaml", "application/vnd.foo+json", "text/csv",
    "application/x-custom", "application/octet-stream",
])
def test_raw_display_of_every_mime_type(run: KernelRunner, mimetype: str) -> None:
    value = "{'api_key': key}" if mimetype.endswith("json") else "f'api_key: {key}'"
    outputs = run(f"from IPython.display import display\n"
                  f"display({{{mimetype!r}: {value}, 'text/plain': 'x'}}, raw=True)")
    assert mimetype in outputs[0]["data"]
    assert_redacted(outputs)


def test_display_and_result_metadata(run: KernelRunner) -> None:
    outputs = run("from IPython.display import display\n"
                  "display({'text/plain': 'x'}, metadata={'note': key, key: [key]}, raw=True)\n"
                  "class Shows:\n"
                  "    def _repr_mimebundle_(self, **kw):\n"
                  "        return {'text/plain': 'y'}, {'text/plain': {'source': key}}\n"
                  "Shows()")
    assert [output["output_type"] for output in outputs] == ["display_data", "execute_result"]
    assert_redacted(outputs)


def test_binary_display_holding_a_key_is_withheld_and_other_images_pass(run: KernelRunner) -> None:
    png = "b'\\x89PNG\\r\\n\\x1a\\n' + bytes(range(256))"
    plain = run(f"import base64\nfrom IPython.display import display\n"
                f"image = base64.b64encode({png}).decode()\n"
                "display({'image/png': image, 'text/plain': 'a picture'}, raw=True)\nimage")
    image = plain[1]["data"]["text/plain"].strip("'")
    assert plain[0]["data"]["image/png"] == image
    holding = run(f"display({{'image/png': base64.b64encode({png} + key.encode()).decode()}}, raw=True)")
    assert "image/png" not in holding[0]["data"]
    assert "withheld" in holding[0]["data"]["text/plain"]
    encoded = base64.b64encode(KEY.encode()).decode()
    assert KEY not in shown(holding) and encoded[:40] not in shown(holding)


def test_secret_variables_with_suffixes_and_env_magic(run: KernelRunner, named_secrets: dict[str, str],
                                                     secret_name: str) -> None:
    secret = named_secrets[secret_name]
    assert_redacted(run(f"import os\nprint(os.environ[{secret_name!r}])"), ENV_ONLY_MARKER, secret)
    assert_redacted(run(f"%env {secret_name}"), ENV_ONLY_MARKER, secret)
    everything = shown(run("%env"))  # IPython hides *key*/*token*/*secret* names only
    assert secret not in everything


def test_updated_display(run: KernelRunner) -> None:
    outputs = run("handle = display('nothing yet', display_id=True)\nhandle.update(key)")
    assert_redacted(outputs)


@pytest.mark.parametrize("raising", ["raise ValueError(key)", f"raise ValueError('bad key: {KEY}')"])
def test_error_still_shows_without_the_key(run: KernelRunner, raising: str) -> None:
    outputs = run(raising)
    assert outputs[-1]["output_type"] == "error"
    assert outputs[-1]["ename"] == "ValueError"
    assert KEY_MARKER in outputs[-1]["evalue"]
    assert any("ValueError" in line for line in outputs[-1]["traceback"])
    assert_redacted(outputs)
    reply = run.replies[-1]["content"]
    assert reply["status"] == "error"
    assert KEY not in json.dumps(reply)


def test_help_pager_payload(run: KernelRunner) -> None:
    run("key?")
    payload = json.dumps(run.replies[-1]["content"]["payload"])
    assert KEY not in payload
    assert KEY_MARKER in payload


def test_environment_secret_without_a_key_shape(run: KernelRunner) -> None:
    assert_redacted(run("import os\nprint(os.environ['OPENAI_API_KEY'])"),
                    marker=ENV_ONLY_MARKER, secret=ENV_ONLY_SECRET)


def test_secret_set_after_loading_is_covered(run: KernelRunner) -> None:
    secret = "late-FAKE-value-from-dotenv"
    outputs = run(f"import os\nos.environ['LATE_SERVICE_TOKEN'] = {secret!r}\n"
                  "print(os.environ['LATE_SERVICE_TOKEN'])")
    assert_redacted(outputs, marker=ENV_ONLY_MARKER, secret=secret)


def test_registered_secret(run: KernelRunner) -> None:
    secret = "db-FAKE-passphrase"
    outputs = run(f"from helpers.notebook_guard import register_secret\nvalue = {secret!r}\n"
                  "register_secret(value)\nprint(value)")
    assert_redacted(outputs, marker=ENV_ONLY_MARKER, secret=secret)


def test_ordinary_output_unchanged(run: KernelRunner) -> None:
    outputs = run("from IPython.display import HTML, display\n"
                  "print('hello', 42)\ndisplay(HTML('<i>task-management</i>'))\n1 + 1")
    assert outputs[0]["text"] == "hello 42\n"
    assert outputs[1]["data"]["text/html"] == "<i>task-management</i>"
    assert outputs[2]["data"]["text/plain"] == "2"


def test_ipython_history_export_is_redacted(run: KernelRunner) -> None:
    source = "print('exported', key)\nkey"
    run(source)
    run("raise ValueError(f'exported {key}')")
    run("%notebook exported.ipynb")
    exported = nbformat.read(os.path.join(run.client.resources["metadata"]["path"], "exported.ipynb"), 4)
    cells = [cell for cell in exported.cells if "exported" in cell.source and "%notebook" not in cell.source]
    assert len(cells) == 2
    assert_redacted([dict(output) for cell in cells for output in cell.outputs])


def test_unload_restores_clear_output_and_loading_twice_is_harmless(run: KernelRunner) -> None:
    try:
        assert KEY in shown(run("%unload_ext helpers.notebook_guard\nprint(key)"))
        assert "already loaded" in shown(run("%load_ext helpers.notebook_guard\n"
                                             "%load_ext helpers.notebook_guard"))
        twice = run("import helpers.notebook_guard as guard\n"
                    "guard.load_ipython_extension(get_ipython())\nprint(key)")
        assert shown(twice).count(KEY_MARKER) == 1
        # One unload undoes both loads: the second one did not stack a second wrapper.
        assert KEY in shown(run("%unload_ext helpers.notebook_guard\nprint(key)"))
    finally:
        run("%reload_ext helpers.notebook_guard")  # unload (if loaded), then load
    assert_redacted(run("print(key)"))


# --- no kernel: a plain IPython shell ---------------------------------------------------------

TERMINAL_SESSION = """
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
for cell in {cells!r}:
    ip.run_cell(cell)
"""


def run_in_plain_shell(cells: list[str], tmp_path) -> str:
    script = TERMINAL_SESSION.format(cells=cells)
    env = {**os.environ, "IPYTHONDIR": str(tmp_path), "OPENAI_API_KEY": ENV_ONLY_SECRET}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60, check=True)
    return re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # without the colours


def test_plain_shell_without_kernel(tmp_path) -> None:
    output = run_in_plain_shell([
        "%load_ext helpers.notebook_guard",
        f"key = {KEY!r}",
        "print('printed', key)",
        "import sys; print('stderr', key, file=sys.stderr)",
        "key",
        "raise ValueError(key)",
        "import os; print(os.environ['OPENAI_API_KEY'])",
        "%unload_ext helpers.notebook_guard",
        "print('after unload', key)",
    ], tmp_path)
    assert output.count(KEY) == 1
    assert f"after unload {KEY}" in output
    assert f"printed {KEY_MARKER}" in output
    assert f"stderr {KEY_MARKER}" in output
    assert f"'{KEY_MARKER}" in output
    assert f"ValueError: {KEY_MARKER}" in output
    assert ENV_ONLY_SECRET not in output
    assert ENV_ONLY_MARKER in output


def test_plain_shell_logging_set_up_before_loading_and_binary_writes(tmp_path) -> None:
    output = run_in_plain_shell([
        "import logging, os, sys; logging.basicConfig(format='%(message)s')",
        f"key = {KEY!r}",
        "%load_ext helpers.notebook_guard",
        "logging.getLogger('app').warning('logged %s', key)",
        "sys.stdout.write('text then '); sys.stdout.buffer.write(b'bytes ' + key.encode() + b'\\n')",
        "sys.stdout.write('pieces ' + key[:20]); sys.stdout.write(key[20:] + '\\n')",
        "os.system(f'echo descriptor {key}')",  # documented: a terminal's descriptors are not redirected
        "%unload_ext helpers.notebook_guard",
        "logging.getLogger('app').warning('after unload %s', key)",
    ], tmp_path)
    assert f"logged {KEY_MARKER}" in output
    assert f"text then bytes {KEY_MARKER}" in output
    assert f"pieces {KEY_MARKER}" in output
    assert f"descriptor {KEY}" in output
    assert f"after unload {KEY}" in output
    assert output.count(KEY) == 2


@pytest.mark.claims
def test_claim_ipython_env_magic_hides_only_some_secret_names(tmp_path: Path,
                                                              named_secrets: dict[str, str]) -> None:
    """IPython 9.18 (core/magics/osm.py, ``env``) hides variables whose names hold "key", "token"
    or "secret" when it prints the whole environment: a password or a PAT shows in clear."""
    script = ("from IPython.core.interactiveshell import InteractiveShell\n"
              "print(InteractiveShell.instance().run_line_magic('env', ''))")
    env = {**os.environ, "IPYTHONDIR": str(tmp_path), "OPENAI_API_KEY": ENV_ONLY_SECRET, **named_secrets}
    shown_env = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                               cwd=tmp_path, timeout=60, check=True).stdout
    assert ENV_ONLY_SECRET not in shown_env and named_secrets["HF_TOKEN_2"] not in shown_env
    assert named_secrets["DB_PASS"] in shown_env and named_secrets["GITHUB_PAT"] in shown_env


# --- what a kernel leaves behind: the server's console, the history database, the %logstart file --


def start_kernel(folder: Path, env: dict[str, str],
                 **launch: object) -> tuple[NotebookClient, Iterator[None]]:
    """A kernel as Jupyter starts it: the history database where IPYTHONDIR says (nbclient's own
    default is an in-memory database)."""
    client = NotebookClient(nbformat.v4.new_notebook(), timeout=30, allow_errors=True,
                            kernel_name="python3", resources={"metadata": {"path": str(folder)}},
                            ipython_hist_file="")
    return client, client.setup_kernel(env=env, **launch)


def kernel_env(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}
    return {**env, "OPENAI_API_KEY": ENV_ONLY_SECRET, **extra}


def wait_for(path: Path, text: str, seconds: float = 60.0) -> str:
    deadline = time.monotonic() + seconds
    while text not in (content := path.read_text(errors="replace")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return content


@pytest.mark.claims  # ipykernel 7.4 echoes descriptor-level output to the server's console, raw
def test_descriptor_level_output_is_redacted_in_the_cell_and_on_the_server_console(tmp_path: Path) -> None:
    console = tmp_path / "server-console.log"
    with console.open("wb") as sink:
        client, kernel = start_kernel(tmp_path, kernel_env(), stdout=sink, stderr=sink)
        with kernel:
            run = KernelRunner(client)
            run(f"import os, subprocess, sys\nkey = {KEY!r}")
            run("%unload_ext helpers.notebook_guard")  # not loaded: harmless
            run("os.system(f'echo unguarded {key}')")
            assert f"unguarded {KEY}" in wait_for(console, "unguarded")  # what ipykernel does alone
            run("%load_ext helpers.notebook_guard")
            cells = [run("os.system(f'echo system {key}')"),
                     run("subprocess.run(['echo', 'child', key])"),
                     run("print('dunder', key, file=sys.__stdout__, flush=True)"),
                     run("print('stderr', key, file=sys.__stderr__, flush=True)")]
            run("subprocess.run(['echo', 'inherited', key], stdout=sys.stdout)")  # console only
            run("print('done', file=sys.__stdout__, flush=True)")
            seen = wait_for(console, "done")
    for outputs in cells:
        assert_redacted(outputs)
    for label in ("system", "child", "dunder", "stderr", "inherited"):
        assert f"{label} {KEY_MARKER}" in seen, label
    assert seen.count(KEY) == 1  # the one echo written before the guard was loaded


def test_history_database_and_logfile_hold_no_key(tmp_path: Path) -> None:
    ipythondir, logfile = tmp_path / "ipython", tmp_path / "session-log.py"
    env = kernel_env(IPYTHONDIR=str(ipythondir))
    client, kernel = start_kernel(tmp_path, env)
    with kernel:
        run = KernelRunner(client)
        run("%load_ext helpers.notebook_guard")
        run(f"%logstart -o {logfile}")
        run("get_ipython().history_manager.db_log_output = True")
        run(f"key = {KEY!r}\nkey")
        # A secret with no key shape, known only once this very cell has run.
        run("import os\nos.environ['LOCAL_DB_PASS'] = 'typed-FAKE-in-a-cell'\nos.environ['LOCAL_DB_PASS']")
        run("print(key)")
        run("%logstop")
    stored = b"".join(path.read_bytes() for path in ipythondir.rglob("history.sqlite*"))
    assert stored and KEY.encode() not in stored and b"typed-FAKE-in-a-cell" not in stored
    assert KEY_MARKER.encode() in stored
    logged = logfile.read_text()
    assert KEY not in logged and "typed-FAKE-in-a-cell" not in logged
    assert KEY_MARKER in logged and f"#[Out]# '{KEY_MARKER}" in logged
    # A new kernel on the same IPython directory, without the guard, looks everywhere.
    client, kernel = start_kernel(tmp_path, kernel_env(IPYTHONDIR=str(ipythondir)))
    with kernel:
        run = KernelRunner(client)
        found = shown(run("%history -g")) + shown(run("%history -g -o"))
    assert "key = " in found and KEY_MARKER in found and ENV_ONLY_MARKER in found
    assert KEY not in found and "typed-FAKE-in-a-cell" not in found
    with sqlite3.connect(ipythondir / "profile_default" / "history.sqlite") as db:
        rows = db.execute("SELECT source_raw FROM history").fetchall()
    assert any(KEY_MARKER in row[0] for row in rows)


# --- a key written in pieces ---------------------------------------------------------------------


def joined_streams(outputs: Outputs) -> str:
    """What JupyterLab keeps of consecutive stream outputs: one text per stream, joined."""
    return "".join(output.get("text", "") for output in outputs if output["output_type"] == "stream")


@pytest.mark.parametrize("pieces", [
    "print(key[:20], end='', flush=True); time.sleep(0.3); print(key[20:])",
    "print('Authorization: Bearer', end=' ', flush=True); time.sleep(0.3); print(token)",
    "print('api_key = \"', end='', flush=True); time.sleep(0.3); print(key[:30], end='')\n"
    "print(key[30:] + '\"')",
    "for char in key: print(char, end='', flush=True)\nprint()",
])
def test_a_key_written_in_pieces_is_redacted_whole(run: KernelRunner, pieces: str) -> None:
    outputs = run(f"import time\ntoken = 'FAKE' + 'x9' * 20\n{pieces}")
    text = joined_streams(outputs)
    assert KEY not in text and "FAKEx9x9" not in text
    assert "[REDACTED" in text


def test_an_unfinished_line_is_shown_when_the_cell_ends(run: KernelRunner) -> None:
    outputs = run("print('Loading', end='', flush=True)\nprint('...', end='')")
    assert joined_streams(outputs) == "Loading..."
    assert joined_streams(run("print('next cell')")) == "next cell\n"


# --- an IPython shell in this very process --------------------------------------------------------
# The same guard as in a terminal, but run here, where mutation testing (tools/mutation.py) can see
# which of its lines a test runs: a kernel or a subprocess is out of its sight.


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real InteractiveShell with its history database in tmp_path. The database is written only
    when a test (or the guard) calls `writeout_cache`: no saving thread decides when."""
    from IPython.core.interactiveshell import InteractiveShell

    import helpers.notebook_guard as guard

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("OPENAI_API_KEY", ENV_ONLY_SECRET)
    monkeypatch.delenv("LOCAL_DB_PASS", raising=False)
    ip = InteractiveShell.instance()
    ip.history_manager.db_cache_size = 10_000
    try:
        yield ip
    finally:
        ip.run_cell("%unload_ext helpers.notebook_guard")
        guard._guards.pop(id(ip), None)
        atexit.unregister(ip.atexit_operations)
        ip.history_manager.end_session()
        if ip.history_manager.save_thread is not None:
            ip.history_manager.save_thread.stop()
        InteractiveShell.clear_instance()


def cell(ip: Any, source: str) -> Any:
    """Run `source` as a notebook or terminal runs a cell: numbered and stored in the history."""
    return ip.run_cell(source, store_history=True)


def history_rows(ip: Any, table: str = "history") -> list[str]:
    ip.history_manager.writeout_cache()
    column = "source_raw" if table == "history" else "output"
    query = f"SELECT {column} FROM {table} WHERE session = ? ORDER BY line"  # noqa: S608 (two fixed names)
    return [row[0] for row in ip.history_manager.db.execute(query, (ip.history_manager.session_number,))]


def test_in_process_shell_redacts_what_cells_show_until_unloaded(shell: Any, capsys) -> None:
    cell(shell, "%load_ext helpers.notebook_guard")
    cell(shell, f"key = {KEY!r}")
    cell(shell, "print('printed', key)\nimport sys; print('stderr', key, file=sys.stderr)")
    cell(shell, "key")
    cell(shell, "raise ValueError(key)")
    cell(shell, "import os; print(os.environ['OPENAI_API_KEY'])")
    guarded = capsys.readouterr()
    cell(shell, "%unload_ext helpers.notebook_guard")
    cell(shell, "print('after unload', key)")
    cell(shell, "%unload_ext helpers.notebook_guard")  # not loaded any more: harmless
    after = capsys.readouterr()
    text = re.sub(r"\x1b\[[0-9;]*m", "", guarded.out + guarded.err)  # without the colours
    assert KEY not in text and ENV_ONLY_SECRET not in text
    for shown_as in (f"printed {KEY_MARKER}", f"stderr {KEY_MARKER}", f"'{KEY_MARKER}",
                     f"ValueError: {KEY_MARKER}", ENV_ONLY_MARKER):
        assert shown_as in text, shown_as
    assert f"after unload {KEY}" in after.out


def test_in_process_loading_twice_stacks_nothing_and_one_unload_undoes_it(shell: Any, capsys) -> None:
    import helpers.notebook_guard as guard

    cell(shell, "%load_ext helpers.notebook_guard")
    writeout = shell.history_manager._writeout_input_cache
    guard.load_ipython_extension(shell)
    assert shell.history_manager._writeout_input_cache is writeout
    assert shell.events.callbacks["post_run_cell"].count(guard._guards[id(shell)].post_run_cell) == 1
    cell(shell, f"print({KEY!r})")
    assert capsys.readouterr().out.count(KEY_MARKER) == 1
    guard.unload_ipython_extension(shell)
    cell(shell, f"print({KEY!r})")
    assert KEY in capsys.readouterr().out


def test_in_process_unload_gives_back_ipythons_own_methods_and_streams(shell: Any) -> None:
    history, logger = shell.history_manager, shell.logger
    original_log_write, stdout = logger.log_write, sys.stdout
    cell(shell, "%load_ext helpers.notebook_guard")
    assert "_writeout_input_cache" in vars(history) and "_writeout_output_cache" in vars(history)
    assert logger.log_write != original_log_write
    cell(shell, "%unload_ext helpers.notebook_guard")
    assert "_writeout_input_cache" not in vars(history) and "_writeout_output_cache" not in vars(history)
    assert logger.log_write == original_log_write
    assert sys.stdout is stdout
    assert not any(getattr(callback, "__self__", None).__class__.__name__ == "_ShellGuard"
                   for event in ("pre_run_cell", "post_run_cell")
                   for callback in shell.events.callbacks[event])


def test_in_process_history_rows_are_redacted_with_a_secret_set_in_the_same_cell(shell: Any) -> None:
    shell.history_manager.db_log_output = True
    cells = ["%load_ext helpers.notebook_guard",
             f"key = {KEY!r}\nkey",
             # the input row of this very cell is written while it runs: held until it ends
             "import os\nos.environ['LOCAL_DB_PASS'] = 'typed-FAKE-in-a-cell'\n"
             "get_ipython().history_manager.writeout_cache()\nos.environ['LOCAL_DB_PASS']"]
    for source in cells:
        cell(shell, source)
    shell.history_manager.writeout_cache()  # between cells: written at once, redacted
    cell(shell, "get_ipython().history_manager.writeout_cache()\nprint('held again')")
    cell(shell, "print('last')")
    inputs, outputs = history_rows(shell), history_rows(shell, "output_history")
    stored = json.dumps([inputs, outputs])
    assert KEY not in stored and "typed-FAKE-in-a-cell" not in stored
    assert len(inputs) == len(cells) + 2 and inputs[-1] == "print('last')"  # each row once, in order
    assert inputs[1].startswith(f"key = '{KEY_MARKER}") and ENV_ONLY_MARKER in inputs[2]
    assert outputs[0].startswith(f"'{KEY_MARKER}") and outputs[1].startswith(f"'{ENV_ONLY_MARKER}")


def test_in_process_logfile_is_written_redacted_and_only_while_logging(shell: Any, tmp_path: Path) -> None:
    logfile = tmp_path / "session-log.py"
    cell(shell, "%load_ext helpers.notebook_guard")
    shell.logger.log_write(f"before = {KEY!r}\n")  # no %logstart yet: written nowhere, as IPython does
    cell(shell, f"%logstart -o {logfile}")
    cell(shell, f"key = {KEY!r}\nkey")
    shell.logger.log_write(f"between = {KEY!r}\n")  # outside a cell: written at once
    shell.logger.logfile.flush()
    between = logfile.read_text()
    cell(shell, "import os\nos.environ['LOCAL_DB_PASS'] = 'typed-FAKE-in-a-cell'\n"
                "os.environ['LOCAL_DB_PASS']")
    cell(shell, "%logstop")
    logged = logfile.read_text()
    assert f"between = '{KEY_MARKER}" in between
    assert KEY not in logged and "typed-FAKE-in-a-cell" not in logged and "before" not in logged
    assert f"key = '{KEY_MARKER}" in logged and f"#[Out]# '{KEY_MARKER}" in logged
    assert f"#[Out]# '{ENV_ONLY_MARKER}" in logged


def test_in_process_record_of_outputs_is_redacted(shell: Any) -> None:
    cell(shell, "%load_ext helpers.notebook_guard")
    cell(shell, f"key = {KEY!r}")
    results = [cell(shell, source) for source in
               ("key", "from IPython.display import display\ndisplay({'text/plain': key}, raw=True)",
                "raise ValueError(key)")]
    history = shell.history_manager
    counts = [result.execution_count for result in results]
    recorded = repr([[output.bundle for output in history.outputs.get(count, [])] for count in counts])
    recorded += repr([history.exceptions.get(count) for count in counts])
    recorded += repr([history.output_hist_reprs.get(count) for count in counts])
    assert KEY not in recorded and recorded.count(KEY_MARKER) >= 4
    assert KEY_MARKER in history.output_hist_reprs[counts[0]]
    assert KEY_MARKER in repr(history.exceptions[counts[2]])


def test_in_process_logging_set_up_before_loading_is_redacted_until_unloaded(shell: Any) -> None:
    console = logging.StreamHandler(sys.stderr)
    app = logging.getLogger("notebook-guard-test-app")
    app.addHandler(console)
    try:
        cell(shell, "%load_ext helpers.notebook_guard")
        wrapped = console.stream
        cell(shell, "%unload_ext helpers.notebook_guard")
        assert console.stream is sys.stderr
    finally:
        app.removeHandler(console)
    assert type(wrapped).__name__ == "RedactingStream" and wrapped.wrapped is sys.stderr


def test_in_process_loading_shows_nothing_and_streams_are_wrapped_only_while_a_cell_runs(shell: Any, capsys):
    import helpers.notebook_guard as guard

    guard.unload_ipython_extension(shell)  # never loaded in this shell: nothing to undo, no error
    stdout = sys.stdout
    cell(shell, "%load_ext helpers.notebook_guard")
    assert capsys.readouterr() == ("", "")  # no error from any of the guard's callbacks either
    assert sys.stdout is stdout
    cell(shell, "import sys\nwrapped = type(sys.stdout).__name__")
    assert shell.user_ns["wrapped"] == "RedactingStream" and sys.stdout is stdout
    assert capsys.readouterr() == ("", "")


def test_in_process_the_loading_cell_is_guarded_to_its_end_and_unloading_keeps_waiting_rows(shell: Any):
    loading = ("%load_ext helpers.notebook_guard\nget_ipython().history_manager.writeout_cache()\n"
               "import os\nos.environ['LOCAL_DB_PASS'] = 'typed-FAKE-in-a-cell'")
    cell(shell, loading)  # its own row is written while it runs, before the secret is set
    cell(shell, "print('between')")
    cell(shell, "%unload_ext helpers.notebook_guard")  # these two rows still wait in the cache
    inputs = history_rows(shell)
    assert "typed-FAKE-in-a-cell" not in json.dumps(inputs) and ENV_ONLY_MARKER in inputs[0]
    assert inputs[1:] == ["print('between')", "%unload_ext helpers.notebook_guard"]


def test_in_process_unloading_writes_the_rows_still_waiting_redacted(shell: Any) -> None:
    cell(shell, "%load_ext helpers.notebook_guard")
    cell(shell, f"key = {KEY!r}")  # db_cache_size (the fixture's, or any user's) keeps its row waiting
    cell(shell, "%unload_ext helpers.notebook_guard")
    assert KEY not in json.dumps(history_rows(shell))


# --- an ipykernel kernel in this very process (ipykernel.inprocess) --------------------------------


@pytest.fixture
def inprocess_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real ipykernel kernel running in this process, its shell's history in tmp_path: the guard's
    kernel branch (the session, no stream wrappers) where mutation testing sees it run. The variables
    ipykernel sets for a notebook (PAGER, FORCE_COLOR, TERM...) are taken back: no later test sees them."""
    from ipykernel.inprocess.ipkernel import InProcessInteractiveShell
    from ipykernel.inprocess.manager import InProcessKernelManager

    import helpers.notebook_guard as guard

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    environment = dict(os.environ)
    manager = InProcessKernelManager()
    manager.start_kernel()
    kernel = manager.kernel
    try:
        yield kernel
    finally:
        guard.unload_ipython_extension(kernel.shell)
        atexit.unregister(kernel.shell.atexit_operations)
        kernel.shell.history_manager.end_session()
        if kernel.shell.history_manager.save_thread is not None:
            kernel.shell.history_manager.save_thread.stop()
        manager.shutdown_kernel()
        InProcessInteractiveShell.clear_instance()
        os.environ.clear()
        os.environ.update(environment)


def test_in_a_kernel_the_guard_wraps_the_session_not_the_streams_and_unloading_gives_it_back(
        inprocess_kernel: Any) -> None:
    from helpers.guard_streams import GuardedSend

    shell, session = inprocess_kernel.shell, inprocess_kernel.session
    console = logging.StreamHandler(sys.__stderr__)
    app = logging.getLogger("notebook-guard-test-kernel-app")
    app.addHandler(console)
    try:
        results = [cell(shell, "%load_ext helpers.notebook_guard")]
        guarded = session.send
        results.append(cell(shell, "import sys\nwrapped = f'{type(sys.stdout)} {type(sys.stderr)}'"))
        results.append(cell(shell, "%unload_ext helpers.notebook_guard"))
    finally:
        app.removeHandler(console)
    assert [result.error_in_exec for result in results] == [None] * 3
    assert isinstance(guarded, GuardedSend) and guarded.session is session
    assert "RedactingStream" not in shell.user_ns["wrapped"]  # ipykernel re-assigns them each cell
    assert console.stream is sys.__stderr__  # ipykernel's session carries what a notebook shows
    assert "send" not in vars(session)  # the class's own method again


def test_in_process_rows_wait_in_ipythons_cache_as_its_db_cache_size_says(shell: Any, capsys) -> None:
    cell(shell, "%load_ext helpers.notebook_guard")
    cell(shell, f"key = {KEY!r}")
    shell.run_cell("print('not in history')")  # no execution count: nothing recorded to redact
    query = "SELECT COUNT(*) FROM history WHERE session = ?"
    assert shell.history_manager.db.execute(query, (shell.history_manager.session_number,)).fetchone() == (0,)
    assert len(shell.history_manager.db_input_cache) == 2  # the guard forced no write
    assert capsys.readouterr() == ("not in history\n", "")
