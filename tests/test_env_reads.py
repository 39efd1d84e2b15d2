"""Tests for helpers.env_reads: which environment variables Python code and notebooks read."""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from pydantic import ValidationError

from helpers.env_reads import env_reads, env_reads_in_file


@pytest.mark.parametrize(("source", "names"), [
    ('import os\nos.getenv("A")\nos.environ.get("B", "x")\nos.environ["C"]\n', ["A", "B", "C"]),
    ('from os import environ, getenv\ngetenv("A")\nenviron["B"]\nif "C" in environ: pass\n', ["A", "B", "C"]),
    ('import os\nif "A" not in os.environ: pass\n', ["A"]),
    ('import os\nos.environ["WRITTEN"] = "1"\nos.environ.setdefault("DEFAULTED", "1")\n'
     'del os.environ["GONE"]\n', []),
    ('import os\nos.getenv(f"KEY_{1}")\nos.getenv(name)\n', []),
    ("from pydantic import Field\nfrom pydantic_settings import BaseSettings, SettingsConfigDict\n"
     "class S(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix='app_')\n"
     "    api_key: str\n    debug: bool = False\n"
     "    region: str = Field('eu', validation_alias='AWS_REGION')\n",
     ["APP_API_KEY", "APP_DEBUG", "AWS_REGION"]),
    ("from typing import ClassVar\nfrom pydantic_settings import BaseSettings\n"
     "class S(BaseSettings):\n    registry: ClassVar[dict] = {}\n    token: str\n", ["TOKEN"]),
    ("def broken(:\n", []),
])
def test_env_reads_finds_reads_not_writes(source: str, names: list[str]) -> None:
    assert sorted(name for name, _ in env_reads(source)) == names


def test_each_read_comes_with_its_line() -> None:
    assert list(env_reads('import os\n\nKEY = os.getenv("OPENAI_API_KEY")\n')) == [("OPENAI_API_KEY", 3)]


def test_a_python_file_reports_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text('import os\n\nMODEL = os.environ["DEFAULT_MODEL"]\n')
    assert list(env_reads_in_file(tmp_path / "app.py", "src/app.py")) == [("DEFAULT_MODEL", "src/app.py:3")]


def test_a_notebook_reports_code_cells_only_and_skips_magics(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell('Prose: `os.getenv("PROSE_ONLY")`'),
        nbformat.v4.new_code_cell('%load_ext dotenv\n!echo $SHELL_ONLY\nimport os\nos.getenv("NB_VAR")'),
    ]
    nbformat.write(notebook, tmp_path / "demo.ipynb")
    assert list(env_reads_in_file(tmp_path / "demo.ipynb", "demo.ipynb")) == [
        ("NB_VAR", "demo.ipynb cell 2 line 4")]


def test_unreadable_or_broken_files_yield_nothing(tmp_path: Path) -> None:
    (tmp_path / "broken.ipynb").write_text("{ not json, but it mentions getenv")
    assert list(env_reads_in_file(tmp_path / "broken.ipynb", "broken.ipynb")) == []
    assert list(env_reads_in_file(tmp_path / "missing.py", "missing.py")) == []


# -- settings classes: every way to give env_prefix, checked against pydantic-settings itself ------

HEADER = "from pydantic import Field\nfrom pydantic_settings import BaseSettings, SettingsConfigDict\n"
SETTINGS_SOURCES = {
    "class keyword": ("class S(BaseSettings, env_prefix='kw_'):\n    token: str\n", ["KW_TOKEN"]),
    "plain dict": ("class S(BaseSettings):\n    model_config = {'env_prefix': 'dict_'}\n    token: str\n",
                   ["DICT_TOKEN"]),
    "dict() call": ("class S(BaseSettings):\n    model_config = dict(env_prefix='call_')\n    token: str\n",
                    ["CALL_TOKEN"]),
    "annotated config": ("class S(BaseSettings):\n    model_config: SettingsConfigDict = "
                         "SettingsConfigDict(env_prefix='ann_')\n    token: str\n", ["ANN_TOKEN"]),
    "subclass of a settings base": (
        "class Base(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix='app_')\n"
        "    region: str\nclass S(Base):\n    token: str\n", ["APP_REGION", "APP_TOKEN"]),
    "subclass with its own prefix": (
        "class Base(BaseSettings, env_prefix='app_'):\n    region: str\n"
        "class S(Base):\n    model_config = SettingsConfigDict(env_prefix='prod_')\n    token: str\n",
        ["APP_REGION", "PROD_REGION", "PROD_TOKEN"]),
    "case-sensitive: the name as written": (
        "class S(BaseSettings):\n"
        "    model_config = SettingsConfigDict(case_sensitive=True, env_prefix='App_')\n"
        "    api_key: str\n    region: str = Field(alias='Aws_Region')\n", ["App_api_key", "Aws_Region"]),
    "an alias in lower case": (
        "class S(BaseSettings):\n    region: str = Field(alias='aws_region')\n", ["AWS_REGION"]),
    "AliasChoices: every choice": (
        "from pydantic import AliasChoices\nclass S(BaseSettings):\n"
        "    region: str = Field(validation_alias=AliasChoices('AWS_REGION', 'aws_default_region'))\n",
        ["AWS_DEFAULT_REGION", "AWS_REGION"]),
    "alias=None: the field's own name": (
        "class S(BaseSettings, env_prefix='app_'):\n    region: str = Field(alias=None)\n", ["APP_REGION"]),
    "grandchild, alias kept": (
        "class Base(BaseSettings):\n    model_config = {'env_prefix': 'app_'}\n"
        "    region: str = Field(validation_alias='AWS_REGION')\n"
        "class Middle(Base):\n    pass\nclass S(Middle):\n    token: str\n",
        ["APP_TOKEN", "AWS_REGION"]),
}


@pytest.mark.parametrize("case", SETTINGS_SOURCES, ids=list(SETTINGS_SOURCES))
def test_settings_classes_are_read_under_their_real_names(case: str) -> None:
    source, names = SETTINGS_SOURCES[case]
    assert sorted(set(name for name, _ in env_reads(HEADER + source))) == names


@pytest.mark.claims
@pytest.mark.parametrize("case", SETTINGS_SOURCES, ids=list(SETTINGS_SOURCES))
def test_pydantic_settings_reads_the_names_env_reads_reports(case: str) -> None:
    """pydantic-settings 2.16 itself: the class ``S`` fills every field from the names we report for
    it, and from nothing else (no variable under the field's bare name)."""
    source, _ = SETTINGS_SOURCES[case]
    namespace: dict[str, object] = {}
    exec(compile(HEADER + source, "<settings>", "exec"), namespace)  # noqa: S102 - our own test source
    cls = namespace["S"]
    reported = {name for name, _ in env_reads(HEADER + source)}
    fields = set(cls.model_fields)  # type: ignore[attr-defined]
    with mock.patch.dict(os.environ, {name: f"from-{name}" for name in reported}, clear=True):
        loaded = cls()  # type: ignore[operator]
    assert {getattr(loaded, field) for field in fields} <= {f"from-{name}" for name in reported}
    bare_names = {field.upper(): "bare" for field in fields}
    with mock.patch.dict(os.environ, bare_names, clear=True), pytest.raises(ValidationError):
        cls()  # type: ignore[operator]


def test_a_class_cycle_in_the_source_does_not_loop() -> None:
    source = HEADER + "class A(B):\n    x: str\nclass B(A):\n    y: str\n"
    assert list(env_reads(source)) == []


def test_an_env_prefix_that_is_not_a_string_is_no_prefix() -> None:
    source = HEADER + ("class S(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix=None)\n"
                       "    token: str\n")
    assert [name for name, _ in env_reads(source)] == ["TOKEN"]


def test_a_long_chain_of_settings_classes_does_not_overflow_the_stack() -> None:
    # Python runs such a file; a recursive walk of the bases would raise RecursionError.
    depth = 1100  # above the default recursion limit (1000)
    source = HEADER + "class C0(BaseSettings):\n    f0: str\n" + "".join(
        f"class C{n}(C{n - 1}):\n    pass\n" for n in range(1, depth))
    assert {name for name, _ in env_reads(source)} == {"F0"}


@pytest.mark.parametrize("source", [
    "x = " + "-" * 100_000 + "1\nimport os\nos.getenv('A')\n",  # the parser runs out of memory
    "x = " + "(" * 5000 + "1" + ")" * 5000 + "\nos.getenv('A')\n",
], ids=["deep-unary", "deep-brackets"])
def test_source_too_deep_for_the_parser_yields_nothing(source: str) -> None:
    assert list(env_reads(source)) == []


def _notebook(tmp_path: Path, source: object) -> Path:
    path = tmp_path / "demo.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": source}], "nbformat": 4}))
    return path


@pytest.mark.parametrize("source", [
    'x = "a\x0cb"\nimport os\nos.getenv("A")\n',  # a form feed inside a string
    'x = "a\u2028b"\nimport os\nos.getenv("A")\n',  # a line separator inside a string
    'x = "a\x1cb"\nimport os\nos.getenv("A")\n',
], ids=["form-feed", "line-separator", "file-separator"])
def test_a_notebook_cell_is_split_into_lines_as_python_splits_it(tmp_path: Path, source: str) -> None:
    # str.splitlines() also breaks at \f, \x1c, \u2028...: inside a string that breaks the cell.
    assert list(env_reads_in_file(_notebook(tmp_path, source), "demo.ipynb")) == [
        ("A", "demo.ipynb cell 1 line 3")]


def test_a_percent_line_inside_brackets_is_python_not_a_magic(tmp_path: Path) -> None:
    source = "import os\ntokens = (1000\n          % 7)\nos.getenv('A')\n"
    assert list(env_reads_in_file(_notebook(tmp_path, source), "demo.ipynb")) == [
        ("A", "demo.ipynb cell 1 line 4")]


@pytest.mark.parametrize("source", [["os.getenv('A')\n", None], 5, {"getenv": 1}, [["getenv"]]])
def test_a_notebook_cell_whose_source_is_not_text_is_skipped(tmp_path: Path, source: object) -> None:
    assert list(env_reads_in_file(_notebook(tmp_path, source), "demo.ipynb")) == []


def test_a_notebook_nested_too_deep_for_the_json_reader_yields_nothing(tmp_path: Path) -> None:
    (tmp_path / "deep.ipynb").write_text("[" * 100_000 + '"getenv"' + "]" * 100_000)
    assert list(env_reads_in_file(tmp_path / "deep.ipynb", "deep.ipynb")) == []
