"""Which secret scanners does a ``.pre-commit-config.yaml`` run? Read as YAML, not searched as text.

A scanner named in a comment (``# TODO: add detect-secrets``) configures nothing: only a hook's
``id`` or ``entry`` counts, and only a hook that runs on commit or push (not one left to
``stages: [manual]``). `secret_scanning_hooks` lists the hooks that run detect-secrets, gitleaks,
trufflehog or this tutorial's plugin (``python -m helpers.detect_secrets_plugin``).
Errors never quote the file (it may hold anything): they give a line number.

Needs: PyYAML (``pip install pyyaml``; pre-commit installs it too). No sibling file.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

__all__ = ["HookConfigError", "MissingYAMLError", "SECRET_SCANNERS", "secret_scanning_hooks"]

SECRET_SCANNERS = ("detect-secrets", "detect_secrets", "gitleaks", "trufflehog")
_COMMIT_OR_PUSH = ("pre-commit", "commit", "pre-merge-commit", "merge-commit", "pre-push", "push")


class HookConfigError(Exception):
    """The pre-commit configuration is missing or is not YAML that pre-commit could read."""


class MissingYAMLError(HookConfigError, ImportError):
    """PyYAML is not installed; the message says what to install."""


def secret_scanning_hooks(config: Path) -> list[str]:
    """The ``id`` of every hook in `config` whose ``id`` or ``entry`` names a secret scanner and that
    runs on commit or push: a hook whose ``stages`` (or the file's ``default_stages``) hold only
    ``manual`` or other stages never stops a key on its own."""
    if not config.is_file():
        raise HookConfigError(f"{config.name} is missing")
    return [hook_id for hook_id, entry, stages in _hooks(config)
            if any(scanner in f"{hook_id} {entry}" for scanner in SECRET_SCANNERS)
            and _runs_on_commit_or_push(stages)]


def _hooks(config: Path) -> list[tuple[str, str, object]]:
    """(id, entry, stages) of every hook of every repo in `config`; shapes other than pre-commit's are
    skipped. A hook without ``stages`` has the file's ``default_stages`` (None: every stage)."""
    loaded = _load(config)
    if not isinstance(loaded, dict):
        return []
    repos, default = loaded.get("repos"), loaded.get("default_stages")
    hooks = [hook for repo in repos if isinstance(repo, dict) for hook in repo.get("hooks") or []
             if isinstance(hook, dict)] if isinstance(repos, list) else []
    return [(str(hook.get("id", "")), str(hook.get("entry", "")), hook.get("stages", default))
            for hook in hooks]


def _runs_on_commit_or_push(stages: object) -> bool:
    return stages is None or (isinstance(stages, list) and any(stage in _COMMIT_OR_PUSH for stage in stages))


def _load(config: Path) -> object:
    yaml = _import_yaml()
    problem = ""
    try:
        return yaml.safe_load(config.read_text(encoding="utf-8", errors="replace"))
    except OSError as err:
        problem = f"{config.name} cannot be read: {err.strerror}"
    except RecursionError:
        problem = f"{config.name} is nested too deeply to read"
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = f"{config.name} is not valid YAML" + (f" (line {mark.line + 1})" if mark else "")
    raise HookConfigError(problem)  # outside the except block: the YAML error quotes the file


def _import_yaml() -> ModuleType:
    try:
        return importlib.import_module("yaml")
    except ImportError:
        raise MissingYAMLError("reading .pre-commit-config.yaml needs PyYAML: `pip install pyyaml` "
                               "(pre-commit installs it too)") from None
