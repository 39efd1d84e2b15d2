"""Notebook 02's exercise: fix a teammate's ``.env`` so that `helpers.settings.load_settings` accepts
it, with every value still meaning what the teammate meant.

The check loads the learner's text in a fresh project with none of the learner's own variables set,
as the app would (``APP_ENV`` from the file, else ``dev``) and as ``test``; asks python-dotenv which
variables the file itself sets (a value left to its default does not count); and reads the key line
as it is, the way ``docker run --env-file`` does, which keeps quotes and spaces.

Needs: exercises/__init__.py, helpers/settings.py, helpers/key_formats.py; python-dotenv.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from dotenv import dotenv_values

from helpers.key_formats import fake_key, fingerprint
from helpers.settings import AppSettings, SettingsError, load_settings
from tutorial.exercises import Exercise

__all__ = ["BROKEN_ENV", "EXERCISE_KEY", "SOLUTION", "env_problems", "exercise"]

EXERCISE_KEY = fake_key("openai-project", 7)  # the teammate's key
BROKEN_ENV = f"""OPENAI_API_KEY='{EXERCISE_KEY} '
MAX_TOKENS=2k
TEMPERATURE=1,5
TUTORIAL_PROVIDER=Mock
"""
# What the teammate meant: 2k is 2000, 1,5 is 1.5, Mock is mock.
MEANT = {"max_tokens": 2000, "temperature": 1.5, "tutorial_provider": "mock"}

SOLUTION = '''fixed_env = f"""OPENAI_API_KEY={EXERCISE_KEY}
MAX_TOKENS=2000
TEMPERATURE=1.5
TUTORIAL_PROVIDER=mock
"""'''

HINT = ("Read the SettingsError line by line: each names a variable and says what to change. Keep "
        "every line (a value left out falls back to a default the teammate did not choose), write "
        "numbers the Python way, and put the key after `=` with nothing around it, not even quotes.")

# Every variable the settings read, so the learner's own values cannot help or hurt the check.
_SETTING_VARIABLES = {name.upper() for name in AppSettings.model_fields} | {
    "SECRETS_DIR", "PYDANTIC_SETTINGS_DEBUG"}


def env_problems(text: object) -> list[str]:
    """What is still wrong with `text` as the teammate's ``.env`` (empty when it is right)."""
    if not isinstance(text, str):
        return [f"fixed_env should be a string holding the .env's lines, not a {type(text).__name__}"]
    problems = _lines_missing(text)
    for app_env in (None, "test"):  # None: APP_ENV as the app finds it (the file may set it)
        found = _load_problems(text, app_env)
        if found:
            return problems + found
    return problems + _literal_key_problems(text)


def _lines_missing(text: str) -> list[str]:
    written = dotenv_values(stream=io.StringIO(text), interpolate=False)
    wanted = dotenv_values(stream=io.StringIO(BROKEN_ENV), interpolate=False)
    return [f"{name} is no longer set in the file: keep it, with the value the teammate meant"
            for name in wanted if not written.get(name)]


def _load_problems(text: str, app_env: str | None) -> list[str]:
    with _fresh_project(text) as project:
        try:
            settings = load_settings(app_env, search_from=project)
        except SettingsError as error:
            where = f"with APP_ENV={error.app_env}, " if error.app_env else ""
            return [f"{where}{problem.variable}: {problem.problem}" for problem in error.problems]
    problems = []
    loaded_key = settings.openai_api_key.get_secret_value()
    if loaded_key != EXERCISE_KEY:
        problems.append(f"OPENAI_API_KEY is a different key (fingerprint {fingerprint(loaded_key)}), "
                        f"not the teammate's ({fingerprint(EXERCISE_KEY)})")
    for field, meant in MEANT.items():
        value = getattr(settings, field)
        if value != meant:
            problems.append(f"{field.upper()} loads as {value!r}; the teammate meant {meant!r}")
    return problems


def _literal_key_problems(text: str) -> list[str]:
    lines = [line for line in text.splitlines() if line.startswith("OPENAI_API_KEY=")]
    if lines and lines[-1].removeprefix("OPENAI_API_KEY=") == EXERCISE_KEY:
        return []
    return ["a tool that reads each line as it is (`docker run --env-file`) gets a different key: "
            "write `OPENAI_API_KEY=<the key>` with no quotes, spaces or `export`"]


@contextmanager
def _fresh_project(env_text: str) -> Iterator[Path]:
    """A temporary project holding `env_text` as its ``.env``, with none of your variables set."""
    kept = {name: value for name, value in os.environ.items() if name.upper() not in _SETTING_VARIABLES}
    with tempfile.TemporaryDirectory(prefix="settings-exercise-", ignore_cleanup_errors=True) as folder, \
            mock.patch.dict(os.environ, kept, clear=True):
        project = Path(folder)
        (project / "pyproject.toml").write_text("")  # marks the project root
        (project / ".env").write_text(env_text)
        yield project


exercise = Exercise("the teammate's .env", env_problems, HINT, SOLUTION)
