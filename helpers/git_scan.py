"""Find keys in what git keeps: the tracked files, the index (what the next commit records) and
every blob of the history, each read with a fixed number of git processes.

`scan_files` reads the working-tree copy of tracked files, `scan_index` the staged blobs (from
the index: what the commit records, whatever the working tree holds now), and `scan_history`
every blob reachable from every ref or reflog entry (every stash, not only the newest; a commit
amended or reset away, still in the repository until its reflog entry expires), each (path, key)
reported once with the first commit that added it: one ``git log`` pass and one ``git cat-file
--batch`` process, never one git process per commit. File names and commit messages are scanned
too (not the message of an annotated tag: a tag object is not a commit). A `Finding` never holds
the key (see `helpers.key_scan`).

Needs: ``key_scan.py``, ``key_formats.py``; git on PATH. No PyPI library.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple, cast

from .key_scan import Finding, decode_text, findings_in_name, findings_in_text, safe_path

__all__ = [
    "COMMIT_MESSAGE", "git", "git_filter_repo", "GitScanError", "HistoryScan", "ignoring_rules", "read_blobs",
    "scan_files", "scan_history", "scan_index", "split_z", "staged_paths", "tracked_files", "untracked_files",
]

# `git replace` changes what this clone shows, not what it holds nor what a clone receives
# (refs/replace/* is not fetched by default): scans read the objects themselves.
_REAL_OBJECTS = "--no-replace-objects"
# One `git log` pass over every ref and every reflog entry (older stashes, commits amended or reset
# away): for each commit (oldest first) the blobs it adds or changes. Merges are diffed against each
# parent, so a blob that only a merge introduced (or a stash's index or untracked files) is seen too.
# Explicit options beat personal settings: the first commit's files (log.showRoot), the whole tree
# from a subfolder (diff.relative), no signature check (log.showSignature).
_HISTORY_LOG = (_REAL_OBJECTS, "-c", "log.showSignature=false", "log", "--all", "--reflog", "--reverse",
                "--topo-order", "--root", "--no-relative", "--diff-merges=separate", "--raw", "--no-abbrev",
                "--no-renames", "-z", "--format=%x01%H%x02%B")
COMMIT_MESSAGE = "(commit message)"  # the path of a finding in a commit message
_GITLINK = b"160000"  # a submodule's commit, not a blob of this repository
_NO_GIT = "git is not installed or not on PATH: the scan reads the repository with git"


class GitScanError(Exception):
    """git is missing, `root` is not a git work tree, or a git command failed."""


@dataclass(frozen=True)
class HistoryScan:
    """What `scan_history` found, and how much it read."""

    findings: tuple[Finding, ...]
    commits: int
    blobs: int
    bytes_read: int


# -- reading git ---------------------------------------------------------------------------------

def git(root: Path, *args: str, stdin: bytes | None = None, ok: tuple[int, ...] = (0,)) -> bytes:
    """Run ``git -C root ARGS`` and return its output; `GitScanError` on an exit status not in `ok`."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise GitScanError(_NO_GIT) from None
    if done.returncode not in ok:
        raise GitScanError(_failure(root, args, done.stderr.decode(errors="replace").strip()))
    return done.stdout


def _failure(root: Path, args: tuple[str, ...], reason: str) -> str:
    """Why git could not run in `root`, in plain words when git's message is a known one. git's
    message may quote a key (a branch named after one): each shows as its fingerprint."""
    reason = "\n".join(safe_path(line) for line in reason.splitlines())
    if not root.is_dir():
        return f"{root} is not a folder"
    if "not a git repository" in reason:
        return f"{root} is not a git work tree (git said: {reason})"
    if "must be run in a work tree" in reason:
        return f"{root} is not a git work tree: it is a bare repository or a .git folder"
    while args and args[0].startswith("-"):  # name the command, not the options before it
        args = args[2:] if args[0] == "-c" else args[1:]
    return f"`git {' '.join(args[:2])}` failed in {root}: {reason}"


def split_z(output: bytes) -> list[str]:
    """NUL-separated names from ``git ... -z``, undecodable bytes kept (``surrogateescape``)."""
    return [name.decode("utf-8", "surrogateescape") for name in output.split(b"\0") if name]


def tracked_files(root: Path) -> list[str]:
    """Every path in the index (what `git ls-files` lists), each once."""
    return list(dict.fromkeys(split_z(git(root, "ls-files", "-z"))))


def git_filter_repo() -> Path:
    """The ``git-filter-repo`` command installed next to this Python (a venv's bin), not a system one:
    the tool git's documentation recommends to rewrite a history (``--replace-text`` for a key)."""
    scripts = sysconfig.get_path("scripts")
    found = shutil.which("git-filter-repo", path=scripts)
    if found is None:
        raise GitScanError(f"git-filter-repo is not installed in {scripts}: "
                           "`python -m pip install git-filter-repo==2.47.0`")
    return Path(found)


def untracked_files(root: Path, pathspecs: tuple[str, ...], *, ignored: bool) -> list[str]:
    """Untracked files matching `pathspecs`: those not ignored, or (ignored=True) the ignored ones,
    where a folder ignored as a whole is one ``folder/`` entry, not entered. Only the rules every
    clone shares and ``.git/info/exclude`` apply: your ``core.excludesFile`` is left out."""
    which = ("--ignored", "--directory") if ignored else ()
    return split_z(git(root, "-c", f"core.excludesFile={os.devnull}", "ls-files", "-z", "--others",
                       "--exclude-standard", *which, "--", *pathspecs))


def ignoring_rules(root: Path, paths: list[str], *, personal: bool) -> dict[str, str]:
    """{path: the ignore file whose rule ignores it, "" if none}, tracked or not (`--no-index`).

    personal=False leaves your ``core.excludesFile`` out: what a teammate's clone would ignore
    (``.git/info/exclude``, also yours alone, is named as the source, so the caller can tell).
    """
    config = () if personal else ("-c", f"core.excludesFile={os.devnull}")
    names = b"".join(path.encode("utf-8", "surrogateescape") + b"\0" for path in paths)
    output = git(root, *config, "check-ignore", "--no-index", "-v", "-z", "--non-matching", "--stdin",
                 stdin=names, ok=(0, 1))
    # Four fields per path: source, line, pattern, path (the first three empty when no rule matches).
    fields = [field.decode("utf-8", "surrogateescape") for field in output.split(b"\0")[:-1]]
    return {path: "" if pattern.startswith("!") else source
            for source, _line, pattern, path in zip(*[iter(fields)] * 4, strict=True)}


def staged_paths(root: Path) -> list[str]:
    """Paths under `root` the next commit adds or changes (renames count as added), relative to it."""
    return split_z(git(root, "diff", "--cached", "--name-only", "--relative", "--no-renames",
                       "--diff-filter=d", "-z"))


def read_blobs(root: Path, object_ids: list[str]) -> Iterator[tuple[str, bytes]]:
    """(object id, content) of each object, in order, read by ONE ``git cat-file --batch`` process.

    A thread writes the ids while this generator reads the answers, so neither pipe fills up.
    """
    try:
        process = subprocess.Popen(["git", "-C", str(root), _REAL_OBJECTS, "cat-file", "--batch", "--buffer"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitScanError(_NO_GIT) from None
    answers = cast(IO[bytes], process.stdout)  # both are pipes: never None here
    feeder = threading.Thread(target=_feed, args=(process.stdin, object_ids), daemon=True)
    feeder.start()
    try:
        for _ in object_ids:
            header = answers.readline().split()
            if len(header) != 3:  # "<id> missing", or git stopped
                continue
            data = answers.read(int(header[2]))
            answers.read(1)  # the newline after each object
            yield header[0].decode(), data
    finally:
        process.kill()
        process.wait()
        answers.close()
        feeder.join()


def _feed(pipe: IO[bytes], object_ids: Iterable[str]) -> None:
    try:
        for object_id in object_ids:
            pipe.write(object_id.encode() + b"\n")
        pipe.close()
    except (BrokenPipeError, ValueError):  # the reader stopped early and killed git
        pass


# -- the three scans -----------------------------------------------------------------------------

def scan_files(root: Path, paths: Iterable[str]) -> list[Finding]:
    """Keys in the working-tree copy of each path (and in the path itself); symlinks are not followed."""
    findings = []
    for name in paths:
        findings += findings_in_name(name)
        path = root / name
        try:
            data = None if path.is_symlink() or not path.is_file() else path.read_bytes()
        except OSError:
            data = None
        text = decode_text(data) if data is not None else None
        if text is not None:
            findings += findings_in_text(text, name)
    return findings


def scan_index(root: Path) -> list[Finding]:
    """Keys in what the next commit records: the staged blobs (read from the index, not the
    working tree) and the staged file names."""
    staged = set(staged_paths(root))
    paths_of: dict[str, list[str]] = {}
    for entry in git(root, "ls-files", "--stage", "-z").split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        path = name.decode("utf-8", "surrogateescape")
        if path in staged and not meta.startswith(_GITLINK):
            paths_of.setdefault(meta.split()[1].decode(), []).append(path)
    findings = [finding for path in sorted(staged) for finding in findings_in_name(path)]
    for object_id, data in read_blobs(root, list(paths_of)):
        text = decode_text(data)
        if text is not None:
            findings += [f for path in paths_of[object_id] for f in findings_in_text(text, path)]
    return findings


def scan_history(root: Path) -> HistoryScan:
    """Keys in every blob reachable from every ref or reflog entry, in every path name ever
    committed, and in every commit message (shown as ``(commit message):LINE``).

    Each (path, key) is reported once, with the first commit that added it. One ``git log`` and
    one ``git cat-file --batch`` process, however long the history.
    """
    history = _read_log(root)
    findings = [finding for path, commit in history.path_added.items()
                for finding in findings_in_name(path, commit)]
    findings += [finding for commit, message in history.messages.items()
                 for finding in findings_in_text(message, COMMIT_MESSAGE, commit)]
    bytes_read = 0
    for object_id, data in read_blobs(root, list(history.first_seen)):
        bytes_read += len(data)
        text = decode_text(data)
        if text is not None:
            commit, path = history.first_seen[object_id]
            findings += findings_in_text(text, path, commit)
    earliest = {(f.path, f.fingerprint, f.line is None): f for f in reversed(findings)}
    kept = tuple(f for f in findings if earliest[(f.path, f.fingerprint, f.line is None)] is f)
    return HistoryScan(kept, len(history.messages), len(history.first_seen), bytes_read)


class _Log(NamedTuple):
    first_seen: dict[str, tuple[str, str]]  # blob: (the first commit that holds it, its path there)
    path_added: dict[str, str]  # path: the first commit that holds it
    messages: dict[str, str]  # commit: its message, one entry per commit, oldest first


def _read_log(root: Path) -> _Log:
    """One ``git log --raw`` pass, oldest commit first: every commit's message and the blobs it adds."""
    log = _Log({}, {}, {})
    commit = ""
    tokens = git(root, *_HISTORY_LOG).split(b"\0")
    position = 0
    while position < len(tokens):
        token = tokens[position].lstrip(b"\n")
        if token.startswith(b"\x01"):  # a commit: \x01<id>\x02<message> (a merge comes once per parent)
            commit_id, _, message = token[1:].partition(b"\x02")
            commit = commit_id.decode()
            log.messages.setdefault(commit, message.decode("utf-8", "replace"))
        elif token.startswith(b":") and position + 1 < len(tokens):
            position += 1
            path = tokens[position].decode("utf-8", "surrogateescape")
            _old_mode, new_mode, _old_id, new_id, _status = token[1:].split()
            if new_mode != _GITLINK and new_id.strip(b"0"):
                log.first_seen.setdefault(new_id.decode(), (commit, path))
                log.path_added.setdefault(path, commit)
        position += 1
    return log
