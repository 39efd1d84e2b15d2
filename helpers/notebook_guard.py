"""An IPython extension that keeps API keys out of what a notebook shows and what IPython records.

Load it in the first cell of a notebook::

    %load_ext helpers.notebook_guard

From then on every key shape known to `helpers.key_formats`, and every known secret value, is
replaced by a marker such as ``[REDACTED openai-project 1ae21d3c]`` in:

* everything a cell shows: stdout and stderr (``print``, logging, threads, ``!echo``, output
  written straight to the file descriptors by ``os.system`` or a subprocess), ``display()``
  output of *every* MIME type (``raw=True`` displays of ``application/xml``,
  ``application/x-yaml``, vendor types...) and its metadata, the last expression's value, errors
  (type, message and traceback still show), ``%env``, the ``key?`` help pager;
* the Jupyter server's console (container logs): in a kernel, what is written to the file
  descriptors is also echoed there by ipykernel; the guard redacts that copy too;
* IPython's history database (``$IPYTHONDIR/profile_default/history.sqlite``): each cell's input
  (and output, with ``HistoryManager.db_log_output``) is written there redacted, once the cell has
  finished, so a value set in the cell itself (``os.environ["DB_PASS"] = ...``) is known by then.
  A *new* kernel running ``%history -g`` finds no key;
* the log file of ``%logstart`` (inputs, and outputs with ``-o``): written redacted at the end
  of each cell;
* IPython's record of outputs (``%notebook FILE``).

Known secret values are the values of environment variables whose names hold a secret word
(``OPENAI_API_KEY_PROD``, ``MY_KEY_OLD``, ``X_APIKEY``, ``DB_PASS``, ``GITHUB_PAT``...), read
again for every output, plus any value passed to `register_secret`.

A key written in pieces (``print(key[:20], end="")`` then ``print(key[20:])``) is joined before
it is redacted: frontends join consecutive stream outputs in the saved notebook. The unfinished
end of a stream output (a word with no line end after it) is therefore shown with the next
output of the cell, or when the cell ends.

So that no output can stall the kernel, a message is read up to 12 million characters and
redacted up to 1 million; text beyond is withheld with a notice, never shown unredacted (see
`helpers.message_redaction`).

What it cannot do:

* clean outputs or history written before it was loaded, or the cell's *source* in the notebook
  file: a key typed into a cell is in the ``.ipynb`` whatever this extension does;
* see a key split across lines or outputs of different kinds, or transformed (base64,
  reversed): only whole keys and whole known values are recognised;
* guard widget (comm) messages, debugger messages, files the code writes, or logging to files
  (use `helpers.redaction.install_redaction` for logging);
* in a terminal IPython: output written to the file descriptors (``!cmd``, ``os.system``, a
  subprocess) goes to the terminal unredacted: redirecting a terminal would break interactive
  programs;
* change the values themselves: ``key``, ``_``, ``In`` and ``Out`` still hold the key in the kernel.

It is a safety net for mistakes, not a licence to print keys.

How the pieces fit: `helpers.message_redaction` decides what is secret and redacts whole
messages; `helpers.guard_streams` holds the places where output is caught (the kernel session,
terminal streams, file descriptors); this module wires them into IPython and keeps its records
(history database, log file, ``%notebook``) clean.

Needs: ``message_redaction.py``, ``guard_streams.py`` (and through them ``redaction.py``,
``secret_values.py``, ``redacted_values.py``, ``quick_check.py``, ``key_formats.py``); IPython, the
host it is loaded into (it imports nothing from IPython, so it can be imported and tested without
it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .guard_streams import (
    FdRelay,
    RedactingStream,
    console_handlers,
    guard_session,
    relay_console_descriptors,
    unguard_session,
    unwrap_std_streams,
    wrap_std_streams,
)
from .message_redaction import (
    MIN_ENV_SECRET_LENGTH,
    OUTPUT_MESSAGES,
    WITHHELD,
    GuardError,
    MessageRedactor,
    SecretValueError,
    env_secrets,
    forget_registered_secrets,
    is_secret_name,
    known_secrets,
    redact_content,
    redact_message,
    redact_text,
    redact_value,
    register_secret,
)

# The names learners use (register_secret...) are importable from here, where the guard is.
__all__ = [
    "env_secrets", "forget_registered_secrets", "GuardError", "is_secret_name", "known_secrets",
    "load_ipython_extension", "MIN_ENV_SECRET_LENGTH", "OUTPUT_MESSAGES", "redact_content",
    "redact_message", "redact_text", "redact_value", "RedactingStream", "register_secret",
    "SecretValueError", "unload_ipython_extension", "WITHHELD",
]

_GUARD_MARK = "_notebook_guard_original"


# --- what IPython records: history database, %logstart file, %notebook -------------------------


class _ShellGuard:
    """The guard of one shell: its callbacks, and what it holds back while a cell runs.

    While a cell runs, rows bound for the history database and writes to the ``%logstart`` file
    are held back; when the cell ends they are written redacted, with the secrets known by then.
    The history hooks replace two methods of IPython 9.18's ``HistoryManager`` on the instance
    (core/history.py: ``_writeout_input_cache`` and ``_writeout_output_cache``, called with the
    cache locks held, by the saving thread and by ``writeout_cache``).
    """

    def __init__(self, ip: Any) -> None:
        self.ip = ip
        self.cell_running = False  # pragma: no mutate - install() sets it before anything reads it
        self.held: dict[str, list[Any]] = {"db_input_cache": [], "db_output_cache": []}
        self.held_log: list[tuple[str, str]] = []
        self.original_log_write: Callable[[str, str], None] = ip.logger.log_write
        self.relays: list[FdRelay] = []
        self.patched_handlers: list[logging.StreamHandler[Any]] = []
        self.session = getattr(getattr(ip, "kernel", None), "session", None)

    # the cell lifecycle
    def pre_run_cell(self, *_: Any) -> None:
        self.cell_running = True
        if self.session is None:
            wrap_std_streams()

    def post_run_cell(self, result: Any) -> None:
        self.cell_running = False  # pragma: no mutate - None reads as False
        try:
            self._redact_recorded_outputs(result.execution_count)
            self._flush_history()
            self._flush_log()
        finally:
            if self.session is None:
                unwrap_std_streams()

    # the history database
    def _writeout(self, cache_name: str, original: Callable[[Any], None]) -> Callable[[Any], None]:
        history = self.ip.history_manager

        def writeout(conn: Any) -> None:
            cache = getattr(history, cache_name)
            if self.cell_running:  # written when the cell ends, with the secrets known then
                self.held[cache_name].extend(cache)
                setattr(history, cache_name, [])
            else:
                redactor = MessageRedactor.unbounded(known_secrets())
                setattr(history, cache_name, [tuple(redactor.value(list(row))) for row in cache])
            original(conn)

        setattr(writeout, _GUARD_MARK, original)
        return writeout

    def _flush_history(self) -> None:
        history = self.ip.history_manager
        if not any(self.held.values()):  # IPython's own cache waits as its db_cache_size says
            return
        for cache_name, lock_name in (("db_input_cache", "db_input_cache_lock"),
                                      ("db_output_cache", "db_output_cache_lock")):
            with getattr(history, lock_name):
                getattr(history, cache_name)[:0] = self.held[cache_name]
                self.held[cache_name] = []
        history.writeout_cache()

    # the %logstart file
    def log_write(self, data: str, kind: str = "input") -> None:
        """IPython's ``Logger.log_write``, held back while a cell runs and written redacted."""
        if not self.ip.logger.log_active:  # as IPython's own log_write: nothing to write
            return
        self.held_log.append((data, kind))
        if not self.cell_running:
            self._flush_log()

    def _flush_log(self) -> None:
        held, self.held_log = self.held_log, []
        redactor = MessageRedactor.unbounded(known_secrets())
        for data, kind in held:
            self.original_log_write(redactor.text(data), kind)

    # IPython's record of outputs (%notebook FILE, %history -o)
    def _redact_recorded_outputs(self, count: int | None) -> None:
        history = self.ip.history_manager
        if count is None:  # a cell run without storing history
            return
        redactor = MessageRedactor.unbounded(known_secrets())
        for output in history.outputs.get(count, []):
            output.bundle = redactor.bundle(output.bundle)
        if count in history.exceptions:
            history.exceptions[count] = redactor.value(history.exceptions[count])
        if count in history.output_hist_reprs:
            history.output_hist_reprs[count] = redactor.text(history.output_hist_reprs[count])

    # installing and removing
    def install(self) -> None:
        self.ip.events.register("pre_run_cell", self.pre_run_cell)
        self.ip.events.register("post_run_cell", self.post_run_cell)
        self._hook_records()
        if self.session is not None:
            guard_session(self.session)
            self.relays = relay_console_descriptors()
        else:
            for handler in console_handlers():
                handler.setStream(RedactingStream(handler.stream))
                self.patched_handlers.append(handler)
            wrap_std_streams()  # the rest of the cell that loads the extension is covered too
        self.cell_running = True  # the loading cell is running: its post_run_cell will flush

    def _hook_records(self) -> None:
        history = self.ip.history_manager
        for cache_name in ("db_input_cache", "db_output_cache"):
            method = f"_writeout_{cache_name[3:-6]}_cache"
            setattr(history, method, self._writeout(cache_name, getattr(history, method)))
        self.ip.logger.log_write = self.log_write

    def uninstall(self) -> None:
        for event, callback in (("pre_run_cell", self.pre_run_cell), ("post_run_cell", self.post_run_cell)):
            if callback in self.ip.events.callbacks[event]:
                self.ip.events.unregister(event, callback)
        self.cell_running = False  # pragma: no mutate - None reads as False
        self._flush_history()
        self.ip.history_manager.writeout_cache()  # rows still in IPython's own cache, while redacted
        self._flush_log()
        self._unhook_records()
        if self.session is not None:
            unguard_session(self.session)
        for relay in self.relays:
            relay.close()
        for handler in self.patched_handlers:
            if isinstance(handler.stream, RedactingStream):
                handler.stream.release()
                handler.setStream(handler.stream.wrapped)
        unwrap_std_streams()

    def _unhook_records(self) -> None:
        history = self.ip.history_manager
        for name in ("_writeout_input_cache", "_writeout_output_cache"):
            if hasattr(getattr(history, name), _GUARD_MARK):
                delattr(history, name)  # back to the class's own method
        if self.ip.logger.log_write == self.log_write:
            self.ip.logger.log_write = self.original_log_write


# --- the extension -----------------------------------------------------------------------------

_guards: dict[int, _ShellGuard] = {}


def load_ipython_extension(ip: Any) -> None:
    """Start redacting this shell's output and records (``%load_ext helpers.notebook_guard``).

    Idempotent: loading it again changes nothing.
    """
    if id(ip) in _guards:
        return
    guard = _guards[id(ip)] = _ShellGuard(ip)
    guard.install()


def unload_ipython_extension(ip: Any) -> None:
    """Stop redacting (``%unload_ext helpers.notebook_guard``): output shows as it did before."""
    guard = _guards.pop(id(ip), None)
    if guard is not None:
        guard.uninstall()
