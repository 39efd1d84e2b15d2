"""Throwaway git repositories for notebook 06's demonstrations, built in one call each.

Each builder first removes whatever is at `folder`, so a cell that calls it can run again and
start afresh. git runs with the tutorial's throwaway identity (`tutorial.scratch.git`), never with
your own settings. The keys written are the ones you pass: give a fake (see `helpers.key_formats`).

Needs: scratch.py; git.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from .scratch import PROJECT_ROOT, git

__all__ = ["APP_CODE", "install_scan_hook", "leaked_then_deleted", "leaky_project", "notebook_with_output"]

# A small app that reads its key and its model from the environment, as it should.
APP_CODE = ('import os\n\nKEY = os.environ["OPENAI_API_KEY"]\n'
            'MODEL = os.getenv("DEFAULT_MODEL", "gpt-4o-mini")\n')


def _fresh_repository(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    git("init", "-q", cwd=folder)
    return folder


def notebook_with_output(text: str) -> dict[str, object]:
    """A one-cell notebook (nbformat 4) whose saved output is `text`: ``print(KEY)`` run once."""
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{
        "cell_type": "code", "id": "print-key", "metadata": {}, "execution_count": 1,
        "source": ["print(KEY)"],
        "outputs": [{"output_type": "stream", "name": "stdout", "text": [text + "\n"]}]}]}


def leaky_project(folder: Path, key: str) -> Path:
    """A repository that breaks every rule of the checklist, everything staged, nothing committed.

    ``app.py`` reads its settings from the environment (so far so good); ``.env`` holds `key` and is
    readable by every user (0o644) and staged; ``explore.ipynb`` shows `key` in a saved output; no
    ``.gitignore``, no ``.env.example``, no pre-commit configuration.
    """
    _fresh_repository(folder)
    (folder / "app.py").write_text(APP_CODE)
    (folder / ".env").write_text(f"OPENAI_API_KEY={key}\nDEFAULT_MODEL=gpt-4o-mini\n")
    (folder / ".env").chmod(0o644)  # the usual default: readable by every user of the machine
    (folder / "explore.ipynb").write_text(json.dumps(notebook_with_output(key), indent=1))
    git("add", ".", cwd=folder)
    return folder


def leaked_then_deleted(folder: Path, key: str) -> Path:
    """A repository of two commits: "Add config" puts `key` in ``config.py``; "Read the key from the
    environment" replaces it with ``os.environ``. The working tree is clean; the history is not."""
    _fresh_repository(folder)
    (folder / "config.py").write_text(f'OPENAI_API_KEY = "{key}"\n')
    git("add", "config.py", cwd=folder)
    git("commit", "-q", "-m", "Add config", cwd=folder)
    (folder / "config.py").write_text('import os\n\nOPENAI_API_KEY = os.environ["OPENAI_API_KEY"]\n')
    git("commit", "-q", "-am", "Read the key from the environment", cwd=folder)
    return folder


def install_scan_hook(repository: Path) -> None:
    """Write the pre-commit hook that ``pre-commit install`` would write for this project's
    configuration, without downloading anything: detect-secrets with the tutorial's LLM key plugin
    (``python -m helpers.detect_secrets_plugin``) on the staged files."""
    hook = repository / ".git" / "hooks" / "pre-commit"
    hook.write_text(
        f'#!/bin/sh\nexport PYTHONPATH="{PROJECT_ROOT}"\n'
        f'exec "{sys.executable}" -m helpers.detect_secrets_plugin'
        ' $(git diff --cached --name-only --diff-filter=ACM)\n')
    hook.chmod(0o755)
