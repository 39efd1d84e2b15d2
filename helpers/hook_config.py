"""Which secret scanners does a ``.pre-commit-config.yaml`` run? Read as YAML, not searched as text.

A scanner named in a comment (``# TODO: add detect-secrets``) configures nothing: only a hook's
``id`` or ``entry`` counts. `secret_scanning_hooks` lists the hooks that run detect-secrets,
gitleaks, trufflehog or this tutorial's plugin (``python -m helpers.detect_secrets_plugin``).
Errors never quote the file (it may hold anything): they give a line number.

Needs: PyYAML (``pip install pyyaml``; pre-commit installs it too). No sibling file.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

__all__ = ["HookConfigError", "MissingYAMLError", "SECRET_SCANNERS", "secret_scanning_hooks"]

SECRET_SCANNERS = ("detect-secrets", "detect_secrets", "gitleaks", "trufflehog")


class HookConfigError(Exception):
    """The pre-commit configuration is missing or is not YAML that pre-commit could read."""


class MissingYAMLError(HookConfigError, ImportError):
    """PyYAML is not installed; the message says what to install."""


def secret_scanning_hooks(config: Path) -> list[str]:
    """The ``id`` of every hook in `config` whose ``id`` or ``entry`` names a secret scanner."""
    if not config.is_file():
        raise HookConfigError(f"{config.name} is missing")
    return [hook_id for hook_id, entry in _hooks(config)
            if any(scanner in f"{hook_id} {entry}" for scanner in SECRET_SCANNERS)]


def _hooks(config: Path) -> list[tuple[str, str]]:
    """(id, entry) of every hook of every repo in `config`; shapes other than pre-commit's are skipped."""
    yaml = _import_yaml()
    problem = ""
    try:
        loaded = yaml.safe_load(config.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = f"{config.name} is not valid YAML" + (f" (line {mark.line + 1})" if mark else "")
    if problem:  # raised outside the except block: the YAML error quotes the file
        raise HookConfigError(problem)
    repos = loaded.get("repos") if isinstance(loaded, dict) else None
    hooks = [hook for repo in repos if isinstance(repo, dict) for hook in repo.get("hooks") or []
             if isinstance(hook, dict)] if isinstance(repos, list) else []
    return [(str(hook.get("id", "")), str(hook.get("entry", ""))) for hook in hooks]


def _import_yaml() -> ModuleType:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        raise MissingYAMLError("reading .pre-commit-config.yaml needs PyYAML: `pip install pyyaml` "
                               "(pre-commit installs it too)") from None
