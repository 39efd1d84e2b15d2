"""Which provider the notebooks talk to: the fake one (``mock``, the default) or the real one (``live``)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from dotenv import dotenv_values

from helpers.env_files import EnvFileError, find_env_file

__all__ = ["MODES", "MODE_VARIABLE", "UnknownModeError", "tutorial_mode"]

MODE_VARIABLE = "TUTORIAL_PROVIDER"
MODES = ("mock", "live")


class UnknownModeError(ValueError):
    """``TUTORIAL_PROVIDER`` holds something other than ``mock`` or ``live``."""


def tutorial_mode(environ: Mapping[str, str] = os.environ) -> str:
    """``"mock"`` or ``"live"``: ``TUTORIAL_PROVIDER`` from the environment, else from the project's
    ``.env`` (the nearest one above the working directory, inside the project), else ``"mock"``.

    The environment wins, so ``make test`` (which sets ``TUTORIAL_PROVIDER=mock``) always runs
    against the fake, whatever a learner's ``.env`` says.
    """
    value = environ.get(MODE_VARIABLE)
    if value is None:
        value = _mode_in_env_file()
    mode = (value or "mock").strip().lower()
    if mode not in MODES:
        raise UnknownModeError(f"{MODE_VARIABLE}={value!r} is not a mode; use one of: {', '.join(MODES)}")
    return mode


def _mode_in_env_file() -> str | None:
    try:
        return dotenv_values(find_env_file(), interpolate=False).get(MODE_VARIABLE)
    except EnvFileError:  # no .env at all: the default applies
        return None
