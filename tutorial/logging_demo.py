"""Logging for notebook 05's demonstrations: a log a cell can read, set up afresh for each demo, and
everything put back at the end.

An application writes its log to a file; a notebook cell cannot show a file's text as it goes, so
`log_to_buffer` gives the root logger one handler writing into a `io.StringIO` instead, the way
``logging.basicConfig`` would set up a file. `show_log` prints that text (the notebook guard
cleans the display) and says, from the raw text, whether each secret reached the log in clear.

`snapshot_logging` records the root logger, the loggers a demo touches and ``os.environ``; its
`LoggingSnapshot.restore` puts them back, so running the notebook leaves the kernel as it was.

`client_for` and `list_gemini_models` make the requests whose logs the notebook reads: the
first through the OpenAI SDK (the fake provider, or the real API in live mode), the second to
Google's API with the key in the URL, answered locally.

Needs: live.py, scratch.py, helpers/redaction.py, helpers/mock_provider.py; httpx2, openai.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx2
import openai

from helpers.mock_provider import FakeProvider
from helpers.redaction import uninstall_redaction

from .live import live_key

__all__ = [
    "DEMO_LOGGERS", "FORMAT", "GEMINI_MODELS_URL", "LoggingSnapshot", "client_for", "list_gemini_models",
    "log_to_buffer", "show_log", "snapshot_logging", "using_env",
]

FORMAT = "%(levelname)s %(name)s: %(message)s"
# The loggers the notebook's demonstrations put filters and handlers on.
DEMO_LOGGERS = ("__main__", "__main__.client", "billing")
GEMINI_MODELS_URL = "https://generativelanguage.googleapis.com/v1beta/models"
_FIELD = re.compile(r"%\((\w+)\)")
_RECORD_FIELDS = {*vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)), "message", "asctime"}


def log_to_buffer(level: int = logging.INFO, fmt: str = FORMAT,
                  loggers: Iterable[str] = DEMO_LOGGERS) -> io.StringIO:
    """Start afresh: no redaction anywhere, no filters on `loggers`, and the root logger with one
    handler (formatted with `fmt`) writing to the buffer returned.

    A field of `fmt` that is not a record attribute (``%(url)s``, filled by ``extra=``) prints as
    ``-`` in records that lack it, instead of breaking them."""
    uninstall_redaction()
    for name in loggers:
        logging.getLogger(name).filters.clear()
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    extra_fields = set(_FIELD.findall(fmt)) - _RECORD_FIELDS
    handler.setFormatter(logging.Formatter(fmt, defaults=dict.fromkeys(extra_fields, "-")))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return buffer


def show_log(buffer: io.StringIO, only: str | tuple[str, ...] = (), each_line: bool = False,
             **secrets: str) -> None:
    """Print what the log holds, then ``<name> leaked: True/False`` for each of `secrets`, read
    from the raw text. With `only` (a word or several), print just the lines holding one of the
    words, each from its first such word on. With `each_line`, the verdicts are given at the end
    of every line, for that line, instead."""
    text = buffer.getvalue()
    lines = text.rstrip().splitlines()
    words = (only,) if isinstance(only, str) else only
    if words:
        lines = [line[min(line.index(w) for w in words if w in line):]
                 for line in lines if any(w in line for w in words)]
    if each_line:
        for line in lines:
            print(line, *(f"| {name} leaked: {secret in line}" for name, secret in secrets.items()))
        return
    print("\n".join(lines))
    for name, secret in secrets.items():
        print(f"{name} leaked:", secret in text)


def client_for(mode: str, fake_key: str) -> tuple[str, openai.OpenAI] | tuple[None, None]:
    """The key and client a cell calls the provider with: in ``"live"`` mode your ``OPENAI_API_KEY``
    and a real client (or ``(None, None)`` after `live_key` printed what to do); otherwise
    `fake_key` and a client of the fake provider that accepts it. Nothing is sent yet."""
    if mode == "live":
        key = live_key("OPENAI_API_KEY")
        return (key, openai.OpenAI(api_key=key)) if key else (None, None)
    return fake_key, FakeProvider({fake_key: "ok"}).client(fake_key)


def list_gemini_models(key: str) -> None:
    """Ask Google's Gemini API for its models with `key` in the URL (``?key=...``), through a real
    ``httpx2.Client`` that logs the request as always; a mock transport answers, nothing is sent."""
    transport = httpx2.MockTransport(lambda request: httpx2.Response(200, json={"models": []}))
    with httpx2.Client(transport=transport) as http:
        http.get(GEMINI_MODELS_URL, params={"key": key})


@contextmanager
def using_env(**variables: str) -> Iterator[None]:
    """Set environment variables for one ``with`` block, then put the environment back."""
    before = dict(os.environ)
    os.environ.update(variables)
    try:
        yield
    finally:
        _put_back_environ(before)


def _put_back_environ(before: dict[str, str]) -> None:
    for name in set(os.environ) - set(before):
        del os.environ[name]
    os.environ.update(before)


@dataclass
class _LoggerState:
    handlers: list[logging.Handler]
    filters: logging.Filterer  # holds a copy of the logger's filters
    level: int


def _state_of(logger: logging.Logger) -> _LoggerState:
    filters = logging.Filterer()
    filters.filters = logger.filters[:]
    return _LoggerState(logger.handlers[:], filters, logger.level)


@dataclass
class LoggingSnapshot:
    """How logging and ``os.environ`` were when `snapshot_logging` was called."""

    loggers: dict[str, _LoggerState]
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    def restore(self) -> bool:
        """Remove every redaction filter, put the loggers and the environment back; True when
        the root logger and ``os.environ`` are as they were."""
        uninstall_redaction()
        for name, state in self.loggers.items():
            logger = logging.getLogger(name)
            logger.handlers[:], logger.filters[:] = state.handlers, state.filters.filters
            logger.setLevel(state.level)
        _put_back_environ(self.environ)
        root = logging.getLogger()
        return root.handlers == self.loggers[""].handlers and dict(os.environ) == self.environ


def snapshot_logging(loggers: Iterable[str] = DEMO_LOGGERS) -> LoggingSnapshot:
    """Record the root logger, `loggers` and ``os.environ``, to be put back by ``.restore()``."""
    names = ["", *loggers]
    return LoggingSnapshot({name: _state_of(logging.getLogger(name)) for name in names})
