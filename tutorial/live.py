"""The learner's own keys, for the few cells that call the real provider in live mode.

A live cell must never end in a traceback: with no key, or with the placeholder of ``.env.example``
still in place, it says what is missing and what to do, and sends no request. Keys come from the
environment the notebook started with, else from the project's ``.env``; neither is changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from helpers.key_hygiene import diagnose_key

from .scratch import PROJECT_ROOT

__all__ = ["live_key", "live_keys"]


def _sources(environ: Mapping[str, str], root: Path) -> list[tuple[str, Mapping[str, str | None]]]:
    dotenv = root / ".env"
    return [("your environment", environ), (str(dotenv), dotenv_values(dotenv) if dotenv.is_file() else {})]


def _placeholders(root: Path) -> list[str]:
    example = root / ".env.example"
    return [value for value in dotenv_values(example).values() if value] if example.is_file() else []


def live_key(name: str = "OPENAI_API_KEY", environ: Mapping[str, str] = os.environ,
             root: Path = PROJECT_ROOT) -> str | None:
    """`name`'s value, or None after printing what is missing and what to do (never the value)."""
    for where, values in _sources(environ, root):
        value = values.get(name)
        if value is None:
            continue
        findings = diagnose_key(value, placeholders=_placeholders(root))
        if findings:
            print(f"{name} in {where} cannot be used as it is: {findings[0]}. Fix it there, then "
                  "restart the kernel. No request was sent.")
            return None
        return value
    print(f"{name} is not set. Copy .env.example to .env in the project root ({root}), put "
          f"your key after {name}=, and restart the kernel. No request was sent.")
    return None


def live_keys(prefix: str = "OPENAI_API_KEY", environ: Mapping[str, str] = os.environ,
              root: Path = PROJECT_ROOT) -> list[str]:
    """Every usable ``PREFIX`` / ``PREFIX_<n>`` key (printing why any other is left out), in name order."""
    pattern = re.compile(rf"{re.escape(prefix)}(?:_\d+)?")
    found = {name for _, values in _sources(environ, root) for name in values}
    names = sorted(name for name in found if pattern.fullmatch(name))
    if not names:
        live_key(prefix, environ, root)  # prints what to do
    return [key for key in (live_key(name, environ, root) for name in names) if key is not None]
