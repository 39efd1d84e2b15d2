"""Throwaway places for the notebooks' demos: a temporary folder, an environment that is put back,
and git repositories with an identity of their own.

A notebook starts one `Scratch` in its first cells and calls `Scratch.restore` in its last.
Starting a scratch under a name already in use first restores the earlier one, so running a
set-up cell again resets the demo instead of failing on a folder or variable left from before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["PROJECT_ROOT", "Scratch", "git", "git_environment", "start_scratch"]

# The tutorial's own root, whatever the working directory (notebooks/ under JupyterLab and nbval,
# the project root under VS Code).
PROJECT_ROOT = Path(__file__).resolve().parents[1]

_ACTIVE: dict[str, Scratch] = {}


class Scratch:
    """A temporary folder plus a snapshot of ``os.environ`` taken when it started."""

    def __init__(self, name: str, set_aside: Iterable[str] = ()) -> None:
        self.name = name
        self.environ_before = dict(os.environ)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{name}-")).resolve()
        for variable in set_aside:  # the learner's own values stay out of the demos
            os.environ.pop(variable, None)

    def restore(self) -> bool:
        """Put ``os.environ`` back as it was and remove the folder; True when both are done."""
        for variable in set(os.environ) - set(self.environ_before):
            del os.environ[variable]
        os.environ.update(self.environ_before)
        shutil.rmtree(self.folder, ignore_errors=True)
        _ACTIVE.pop(self.name, None)
        return dict(os.environ) == self.environ_before and not self.folder.exists()


def start_scratch(name: str, set_aside: Iterable[str] = ()) -> Scratch:
    """A fresh `Scratch` called `name`, after restoring any earlier one of that name."""
    earlier = _ACTIVE.get(name)
    if earlier is not None:
        earlier.restore()
    scratch = _ACTIVE[name] = Scratch(name, set_aside)
    return scratch


def git_environment(name: str = "Learner", email: str = "learner@example.com") -> dict[str, str]:
    """Environment variables that make git ignore your own git settings (a global excludes file,
    hooks, signing) and commit as a throwaway identity on a ``main`` branch."""
    return {
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_COUNT": "4",
        "GIT_CONFIG_KEY_0": "init.defaultBranch", "GIT_CONFIG_VALUE_0": "main",
        "GIT_CONFIG_KEY_1": "user.name", "GIT_CONFIG_VALUE_1": name,
        "GIT_CONFIG_KEY_2": "user.email", "GIT_CONFIG_VALUE_2": email,
        # git reads ~/.config/git/ignore even without a global config file
        "GIT_CONFIG_KEY_3": "core.excludesFile", "GIT_CONFIG_VALUE_3": os.devnull,
    }


def git(*args: str, cwd: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
    """Run git in `cwd` with the throwaway identity; never raises: look at returncode and output."""
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, **git_environment()})
