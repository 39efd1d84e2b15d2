"""Scaffolding for notebook 02 (typed settings): a throwaway project, the course material's
``Config`` module imported afresh, and the "who wins" table of which source gave each setting.

The notebook calls these so that its cells show the settings, not the plumbing around them.

Needs: scratch.py, helpers/settings.py, helpers/key_formats.py; pydantic, python-dotenv.
"""

from __future__ import annotations

import importlib.util
import io
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from unittest import mock

from dotenv import dotenv_values
from pydantic import SecretStr

from helpers.key_formats import fingerprint
from helpers.settings import AppSettings

from .scratch import Scratch, start_scratch

__all__ = ["MATERIAL_CONFIG", "SETTING_VARIABLES", "DemoProject", "captured_log", "start_project",
           "using_env"]

# Every variable the settings read: the learner's own values are set aside while the demos run.
SETTING_VARIABLES = frozenset({name.upper() for name in AppSettings.model_fields}
                              | {"SECRETS_DIR", "PYDANTIC_SETTINGS_DEBUG"})

# The course material's configuration module, as the material writes it (minus its `load_dotenv()`:
# the notebook sets the environment directly).
MATERIAL_CONFIG = '''import os


class Config:
    """Application configuration, the material's way."""

    OPENAI_API_KEY: str = os.getenv("OPENAI_API_KEY", "")
    DEFAULT_MODEL: str = os.getenv("DEFAULT_MODEL", "gpt-4o-mini")
    MAX_TOKENS: int = int(os.getenv("MAX_TOKENS", "2000"))
    TEMPERATURE: float = float(os.getenv("TEMPERATURE", "0.7"))

    @classmethod
    def validate(cls):
        missing = [name for name in ["OPENAI_API_KEY"] if not getattr(cls, name)]
        if missing:
            raise ValueError(f"Missing required environment variables: {', '.join(missing)}")
        return True


config = Config()
config.validate()
'''

_SHOWN_IN_TABLE = ("OPENAI_API_KEY", "DEFAULT_MODEL", "MAX_TOKENS", "TEMPERATURE", "TUTORIAL_PROVIDER")


@dataclass(frozen=True)
class DemoProject:
    """A throwaway project: ``root`` (with ``pyproject.toml``, so the search for ``.env`` files stops
    there), its ``notebooks`` folder, and a ``secrets`` folder outside it (like ``/run/secrets``)."""

    scratch: Scratch
    root: Path
    notebooks: Path
    secrets: Path

    def subproject(self, name: str) -> Path:
        """Another project root (a folder with ``pyproject.toml``) inside the scratch folder; the same
        folder again when called twice."""
        folder = self.scratch.folder / name
        folder.mkdir(exist_ok=True)
        (folder / "pyproject.toml").write_text("")
        return folder

    def shown(self, thing: object) -> str:
        """`thing` as text (an exception as ``Type: message``), the scratch folder written ``<tmp>``."""
        text = f"{type(thing).__name__}: {thing}" if isinstance(thing, BaseException) else str(thing)
        return text.replace(str(self.scratch.folder), "<tmp>")

    def import_material_config(self) -> ModuleType:
        """Write `MATERIAL_CONFIG` into the project and import it afresh, as a new process would (its
        class body reads the environment, and ``validate()`` runs, at import time). Nothing is left
        in ``sys.modules`` or ``sys.path``."""
        path = self.root / "material_config.py"
        path.write_text(MATERIAL_CONFIG)
        spec = importlib.util.spec_from_file_location("material_config", path)
        if spec is None or spec.loader is None:  # pragma: no cover - a .py path always has a loader
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def who_wins(self, settings: AppSettings, key_names: Mapping[str, str],
                 environ: Mapping[str, str] = os.environ) -> str:
        """A table: for each setting, every place that sets it, the value used and the place it came
        from. A key is shown by its name in `key_names` (fingerprint -> name), never by its value."""
        places = self._places(settings.app_env, environ)
        rows = [f"{'variable':17} | {'set in':36} | {'value used':11} | from"]
        for name in _SHOWN_IN_TABLE:
            value = getattr(settings, name.lower())
            secret = isinstance(value, SecretStr)
            used = value.get_secret_value() if secret else str(value)
            set_in = [place for place, values in places.items() if name in values]
            source = next((place for place in set_in if places[place][name] == used), "default")
            shown = key_names.get(fingerprint(used), "(unknown key)") if secret else used
            rows.append(f"{name:17} | {', '.join(set_in) or '-':36} | {shown:11} | {source}")
        return "\n".join(rows)

    def _places(self, env: str, environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
        secret_files = sorted(path for path in self.secrets.iterdir() if path.is_file())
        return {
            "environment": {name: value for name, value in environ.items() if name in SETTING_VARIABLES},
            f".env.{env}": _read_env(self.root / f".env.{env}"),
            ".env": _read_env(self.root / ".env"),
            "secrets folder": {path.name: path.read_text().strip() for path in secret_files},
        }


def _read_env(path: Path) -> dict[str, str]:
    return {name: value for name, value in dotenv_values(path).items() if value is not None}


def start_project(name: str = "typed-settings") -> DemoProject:
    """A fresh `DemoProject` (an earlier one of that name is removed first), with the learner's own
    values of `SETTING_VARIABLES` set aside until ``project.scratch.restore()``."""
    scratch = start_scratch(name)
    for variable in [found for found in os.environ if found.upper() in SETTING_VARIABLES]:
        del os.environ[variable]  # in any spelling: the settings ignore case
    root = scratch.folder / "project"
    notebooks = root / "notebooks"
    secrets = scratch.folder / "run-secrets"
    for folder in (notebooks, secrets):
        folder.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("")
    return DemoProject(scratch, root, notebooks, secrets)


def using_env(**variables: str) -> AbstractContextManager[dict[str, str]]:
    """Set these environment variables for one ``with`` block; everything is put back after it."""
    return mock.patch.dict(os.environ, variables)


@contextmanager
def captured_log(logger_name: str) -> Iterator[io.StringIO]:
    """Collect `logger_name`'s DEBUG records as text for one ``with`` block; the logger is put back
    as it was afterwards."""
    logger = logging.getLogger(logger_name)
    text = io.StringIO()
    handler = logging.StreamHandler(text)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield text
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
