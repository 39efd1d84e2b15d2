"""Which environment variables does this code read? Found by parsing Python, never by running it.

`helpers.checklist` uses this to check that ``.env.example`` names every variable the code reads.
A read is any of these, in a ``.py`` file or a notebook's code cells::

    os.getenv("NAME")            getenv("NAME")             os.environ.get("NAME")
    os.environ["NAME"]           "NAME" in os.environ       (reads, not assignments or del)
    class S(BaseSettings): name: str   # NAME, after the env_prefix, or the field's
                                       # alias / validation_alias

A settings class's ``env_prefix`` may come from ``model_config`` (``SettingsConfigDict(...)``,
``dict(...)`` or a plain ``{...}``), from a class keyword (``class S(BaseSettings,
env_prefix="app_")``), or from a settings base class in the same source; a subclass reads its base's
fields under its own prefix. Only names written as string constants can be seen:
``os.getenv(f"KEY_{n}")``, ``os.getenv(name)`` or a base class imported from elsewhere are decided
at run time. IPython magics and shell lines (``%...``, ``!...``) in notebook cells are skipped,
since they are not Python.

Needs: nothing (the standard library's ``ast``).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["env_reads", "env_reads_in_file"]

# A file holding none of these words reads nothing: skip it before parsing (most files).
_HINTS = ("environ", "getenv", "BaseSettings")


def env_reads(source: str) -> Iterator[tuple[str, int]]:
    """(variable name, line) for each environment variable the Python `source` reads.

    Source that does not parse yields nothing.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return
    classes = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and _is_settings_class(node, classes, set()):
            yield from _settings_fields(node, classes)
        elif isinstance(node, ast.Call) and _is_env_getter(node.func) and node.args:
            yield from _constant(node.args[0], node.lineno)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value):
            yield from _constant(node.slice, node.lineno)
        elif (isinstance(node, ast.Compare) and isinstance(node.ops[0], ast.In | ast.NotIn)
              and _is_environ(node.comparators[0])):
            yield from _constant(node.left, node.lineno)


def env_reads_in_file(path: Path, display: str) -> Iterator[tuple[str, str]]:
    """(variable name, where) for each read in a ``.py`` file or a notebook (``.ipynb``).

    `display` is the file's name as the caller wants it shown; `where` is ``"app.py:5"`` for a
    Python file and ``"demo.ipynb cell 2 line 3"`` for a notebook (every cell counted, from 1).
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    if not any(word in text for word in _HINTS):
        return
    if not display.endswith(".ipynb"):
        for variable, line in env_reads(text):
            yield variable, f"{display}:{line}"
        return
    for number, cell in enumerate(_notebook_cells(text), 1):
        if cell.get("cell_type") == "code":
            for variable, line in env_reads(_without_magics(cell.get("source", ""))):
                yield variable, f"{display} cell {number} line {line}"


def _notebook_cells(text: str) -> list[dict[str, Any]]:
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return []
    return [cell for cell in cells if isinstance(cell, dict)] if isinstance(cells, list) else []


def _without_magics(source: str | list[str]) -> str:
    """The cell's source with magic and shell lines blanked (line numbers stay right)."""
    lines = "".join(source).splitlines()
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def _is_settings_class(cls: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: set[str]) -> bool:
    """Whether `cls` derives from ``BaseSettings``, directly or through classes of the same source."""
    seen.add(cls.name)
    for base in map(_name_of, cls.bases):
        if base == "BaseSettings" or (base in classes and base not in seen
                                      and _is_settings_class(classes[base], classes, seen)):
            return True
    return False


def _settings_fields(cls: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> Iterator[tuple[str, int]]:
    """Each field of `cls` and of its settings bases in the source, under `cls`'s prefix."""
    prefix = _env_prefix(cls, classes, set()) or ""
    for owner in _class_and_bases(cls, classes, set()):
        for stmt in owner.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            if stmt.target.id == "model_config" or "ClassVar" in ast.unparse(stmt.annotation):
                continue
            alias = _keyword(stmt.value, "validation_alias") or _keyword(stmt.value, "alias")
            yield alias or (prefix + stmt.target.id).upper(), stmt.lineno


def _class_and_bases(cls: ast.ClassDef, classes: dict[str, ast.ClassDef],
                     seen: set[str]) -> Iterator[ast.ClassDef]:
    seen.add(cls.name)
    yield cls
    for base in map(_name_of, cls.bases):
        if base in classes and base not in seen:
            yield from _class_and_bases(classes[base], classes, seen)


def _env_prefix(cls: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: set[str]) -> str | None:
    """The class keyword ``env_prefix=``, else ``model_config``'s, else the nearest base's."""
    seen.add(cls.name)
    own = _keyword_of(cls.keywords, "env_prefix")
    for config in _model_configs(cls) if own is None else ():
        own = _config_value(config, "env_prefix") if own is None else own
    if own is not None:
        return own
    for base in map(_name_of, cls.bases):
        if base in classes and base not in seen:
            inherited = _env_prefix(classes[base], classes, seen)
            if inherited is not None:
                return inherited
    return None


def _model_configs(cls: ast.ClassDef) -> Iterator[ast.expr | None]:
    """The values assigned to ``model_config`` in the class body (``=`` or ``: SettingsConfigDict =``)."""
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(_name_of(target) == "model_config" for target in targets):
                yield stmt.value


def _config_value(config: ast.expr | None, name: str) -> str | None:
    """`name` in ``SettingsConfigDict(...)``, ``dict(...)`` or a ``{...}`` literal."""
    if isinstance(config, ast.Dict):
        for key, value in zip(config.keys, config.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == name and isinstance(value, ast.Constant):
                return str(value.value)
        return None
    return _keyword(config, name)


def _keyword(call: ast.expr | None, name: str) -> str | None:
    return _keyword_of(call.keywords, name) if isinstance(call, ast.Call) else None


def _keyword_of(keywords: list[ast.keyword], name: str) -> str | None:
    for keyword in keywords:
        if keyword.arg == name and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return None


def _constant(node: ast.expr, line: int) -> Iterator[tuple[str, int]]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
        yield node.value, line


def _name_of(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""


def _is_environ(node: ast.expr) -> bool:
    return _name_of(node) == "environ"


def _is_env_getter(func: ast.expr) -> bool:
    if _name_of(func) == "getenv":
        return True
    return isinstance(func, ast.Attribute) and func.attr == "get" and _is_environ(func.value)
