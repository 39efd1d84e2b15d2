"""Which environment variables does this code read? Found by parsing Python, never by running it.

`helpers.checklist` uses this to check that ``.env.example`` names every variable the code reads.
A read is any of these, in a ``.py`` file or a notebook's code cells::

    os.getenv("NAME")            getenv("NAME")             os.environ.get("NAME")
    os.environ["NAME"]           "NAME" in os.environ       (reads, not assignments or del)
    class S(BaseSettings): name: str   # NAME, after the env_prefix, or the field's alias /
                                       # validation_alias (each of an AliasChoices)

A settings class's ``env_prefix`` may come from ``model_config`` (``SettingsConfigDict(...)``,
``dict(...)`` or a plain ``{...}``), from a class keyword (``class S(BaseSettings,
env_prefix="app_")``), or from a settings base class in the same source; a subclass reads its base's
fields under its own prefix. Its names are shown in upper case, as ``.env.example`` lists them
(pydantic-settings matches them in any case), or as written under ``case_sensitive=True``. Only names
written as string constants can be seen: ``os.getenv(f"KEY_{n}")``, ``os.getenv(name)`` or a base
class imported from elsewhere are decided at run time. IPython magics and shell lines (``%...``,
``!...``) in notebook cells are skipped, since they are not Python (a cell that parses as Python is
read as it is: a ``%`` line inside brackets is a modulo).

Needs: nothing (the standard library's ``ast``).
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["env_reads", "env_reads_in_file"]

T = TypeVar("T")

# A file holding none of these words reads nothing: skip it before parsing (most files).
_HINTS = ("environ", "getenv", "BaseSettings")
_NEWLINE = re.compile(r"\r\n|\r|\n")  # Python's line breaks (str.splitlines also breaks at \f, \u2028...)
# What ast.parse raises for source it cannot read: bad syntax, a NUL, nesting too deep for its stack.
_UNPARSABLE = (SyntaxError, ValueError, RecursionError, MemoryError)


def env_reads(source: str) -> Iterator[tuple[str, int]]:
    """(variable name, line) for each environment variable the Python `source` reads.

    Source that does not parse yields nothing.
    """
    try:
        tree = ast.parse(source)
    except _UNPARSABLE:
        return
    classes = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    settings_classes = _settings_classes(classes)
    own = {name: _own_settings(node) for name, node in classes.items()}  # once: files may hold long chains
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in settings_classes:
            yield from _settings_fields(node, classes, own)
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
            for variable, line in env_reads(_as_python(_cell_source(cell))):
                yield variable, f"{display} cell {number} line {line}"


def _notebook_cells(text: str) -> list[dict[str, Any]]:
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError, RecursionError):  # RecursionError: nested too deep
        return []
    return [cell for cell in cells if isinstance(cell, dict)] if isinstance(cells, list) else []


def _cell_source(cell: dict[str, Any]) -> str:
    """A cell's source: a string or a list of strings in the notebook format; anything else is no code."""
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(part, str) for part in source):
        return "".join(source)
    return source if isinstance(source, str) else ""


def _as_python(source: str) -> str:
    """The cell as it is when it parses (a ``%`` line inside brackets is Python's modulo), else with
    its magic and shell lines blanked (line numbers stay right)."""
    try:
        ast.parse(source)
    except _UNPARSABLE:
        lines = _NEWLINE.split(source)
        return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
    return source


def _settings_classes(classes: dict[str, ast.ClassDef]) -> set[str]:
    """The classes deriving from ``BaseSettings``, directly or through classes of the same source
    (a loop until nothing is added, not recursion: a long chain of subclasses must not exhaust the stack)."""
    found: set[str] = set()
    added = True
    while added:
        added = False
        for name, node in classes.items():
            if name not in found and any(base == "BaseSettings" or base in found
                                         for base in map(_name_of, node.bases)):
                found.add(name)
                added = True
    return found


def _settings_fields(cls: ast.ClassDef, classes: dict[str, ast.ClassDef],
                     own: dict[str, dict[str, list[object]]]) -> Iterator[tuple[str, int]]:
    """Each field of `cls` and of its settings bases in the source, under `cls`'s prefix."""
    lineage = _lineage(cls, classes)
    prefix = _setting(lineage, own, "env_prefix", str) or ""
    exact = _setting(lineage, own, "case_sensitive", bool) is True
    for owner in lineage:
        for stmt in owner.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            if stmt.target.id == "model_config" or "ClassVar" in ast.unparse(stmt.annotation):
                continue
            for name in _aliases(stmt.value) or [prefix + stmt.target.id]:
                yield name if exact else name.upper(), stmt.lineno


def _lineage(cls: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> list[ast.ClassDef]:
    """`cls`, then its bases defined in the same source, depth first, each once (a loop, not recursion)."""
    order: list[ast.ClassDef] = []
    seen: set[str] = set()
    stack = [cls]
    while stack:
        owner = stack.pop()
        if owner.name in seen:
            continue
        seen.add(owner.name)
        order.append(owner)
        stack += [classes[base] for base in reversed([_name_of(b) for b in owner.bases]) if base in classes]
    return order


def _own_settings(cls: ast.ClassDef) -> dict[str, list[object]]:
    """What `cls` itself gives for ``env_prefix`` and ``case_sensitive``: its class keyword
    (``class S(BaseSettings, env_prefix="app_")``), then each ``model_config``'s."""
    return {name: [_keyword_of(cls.keywords, name), *(_config_value(c, name) for c in _model_configs(cls))]
            for name in ("env_prefix", "case_sensitive")}


def _setting(lineage: list[ast.ClassDef], own: dict[str, dict[str, list[object]]], name: str,
             kind: type[T]) -> T | None:
    """The setting `name` of the nearest class in `lineage` that gives it as a constant of `kind`."""
    given = (value for owner in lineage for value in own[owner.name][name])
    return next((value for value in given if isinstance(value, kind)), None)


def _aliases(field: ast.expr | None) -> list[str]:
    """The names a ``Field(...)`` reads instead of its own: ``validation_alias`` (a string, or each
    string of ``AliasChoices(...)``), else ``alias``. None when it gives no string."""
    for keyword in ("validation_alias", "alias"):
        given = _keyword_node(field, keyword)
        if isinstance(given, ast.Call) and _name_of(given.func) == "AliasChoices":
            given_names = [arg.value for arg in given.args if isinstance(arg, ast.Constant)]
            return [name for name in given_names if isinstance(name, str)]
        if isinstance(given, ast.Constant) and isinstance(given.value, str):
            return [given.value]
    return []


def _model_configs(cls: ast.ClassDef) -> Iterator[ast.expr | None]:
    """The values assigned to ``model_config`` in the class body (``=`` or ``: SettingsConfigDict =``)."""
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(_name_of(target) == "model_config" for target in targets):
                yield stmt.value


def _config_value(config: ast.expr | None, name: str) -> object:
    """The constant given for `name` in ``SettingsConfigDict(...)``, ``dict(...)`` or a ``{...}`` literal."""
    if isinstance(config, ast.Dict):
        for key, value in zip(config.keys, config.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == name and isinstance(value, ast.Constant):
                return value.value
        return None
    node = _keyword_node(config, name)
    return node.value if isinstance(node, ast.Constant) else None


def _keyword_node(call: ast.expr | None, name: str) -> ast.expr | None:
    """The expression given for keyword `name` of a call (``Field(alias=...)``), if any."""
    if not isinstance(call, ast.Call):
        return None
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def _keyword_of(keywords: list[ast.keyword], name: str) -> object:
    """The constant given for keyword `name` (``class S(BaseSettings, env_prefix="app_")``), if any."""
    node = next((keyword.value for keyword in keywords if keyword.arg == name), None)
    return node.value if isinstance(node, ast.Constant) else None


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
