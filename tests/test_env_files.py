"""Tests for helpers.env_files: finding and loading .env, asking git about ignores, template drift."""

from __future__ import annotations

import codecs
import logging
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from unittest import mock

import pytest
from dotenv import dotenv_values, load_dotenv
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.env_files import (
    EnvDrift,
    EnvFileNotFoundError,
    EnvFileUnreadableError,
    EnvPathOutsideProjectError,
    EnvSyntaxError,
    GitCheckError,
    env_drift,
    find_env_file,
    find_project_root,
    is_git_ignored,
    load_env,
    read_env_file,
    read_env_values,
)
from helpers.key_formats import KEY_FORMATS, fake_key

KEY = fake_key("openai-project", 1)
OTHER_KEY = fake_key("anthropic", 2)


# -- finding the file ------------------------------------------------------------------------------

def test_load_env_finds_the_project_env_from_a_subfolder(project: Path) -> None:
    (project / ".env").write_text(f"OPENAI_API_KEY={KEY}\nDEFAULT_MODEL=gpt-4o-mini\n")
    environ: dict[str, str] = {}
    result = load_env(override=False, start=project / "notebooks", environ=environ)
    assert result.path == project / ".env"
    assert result.root == project
    assert result.names_set == ("OPENAI_API_KEY", "DEFAULT_MODEL")
    assert environ == {"OPENAI_API_KEY": KEY, "DEFAULT_MODEL": "gpt-4o-mini"}


def test_the_nearest_env_wins(project: Path) -> None:
    (project / ".env").write_text("WHERE=root\n")
    (project / "notebooks" / ".env").write_text("WHERE=notebooks\n")
    environ: dict[str, str] = {}
    load_env(override=False, start=project / "notebooks", environ=environ)
    assert environ == {"WHERE": "notebooks"}


def test_the_search_stops_at_the_git_root(project: Path) -> None:
    (project.parent / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")  # e.g. a stray ~/.env
    with pytest.raises(EnvFileNotFoundError) as caught:
        load_env(override=False, start=project / "notebooks", environ={})
    message = str(caught.value)
    assert f"searched {project / 'notebooks'}, {project} (the project root is {project})" in message
    assert KEY not in message


def test_the_search_uses_the_working_directory_by_default(project: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".env").write_text("A=1\n")
    monkeypatch.chdir(project / "notebooks")
    assert find_env_file() == project / ".env"
    assert find_project_root() == project


def test_outside_any_project_the_root_is_the_start_folder(tmp_path: Path) -> None:
    # A project downloaded as a ZIP (no .git, no pyproject.toml) must not load a stray ../.env.
    (tmp_path / "download").mkdir()
    (tmp_path / ".env").write_text("A=stray\n")
    assert find_project_root(tmp_path / "download") == tmp_path / "download"
    with pytest.raises(EnvFileNotFoundError):
        find_env_file(start=tmp_path / "download")
    (tmp_path / ".env").write_text("A=1\n")
    (tmp_path / "deep").mkdir()
    assert find_env_file(start=tmp_path / "deep", root=tmp_path) == tmp_path / ".env"


@pytest.mark.parametrize("marker", [".git", "pyproject.toml"])
def test_the_nearest_folder_with_a_marker_is_the_root(tmp_path: Path, marker: str) -> None:
    (tmp_path / "outer" / "inner" / "notebooks").mkdir(parents=True)
    (tmp_path / "outer" / ".git").mkdir()
    (tmp_path / "outer" / "inner" / marker).mkdir() if marker == ".git" else (
        tmp_path / "outer" / "inner" / marker).write_text("")
    assert find_project_root(tmp_path / "outer" / "inner" / "notebooks") == tmp_path / "outer" / "inner"


def test_a_start_folder_outside_the_root_is_refused(project: Path, tmp_path: Path) -> None:
    with pytest.raises(EnvPathOutsideProjectError, match="search folder .* is outside the project root"):
        find_env_file(start=tmp_path, root=project)


# -- override and values ------------------------------------------------------------------------

def test_override_false_keeps_the_environment_and_reports_the_names(project: Path) -> None:
    (project / ".env").write_text(f"OPENAI_API_KEY={KEY}\nMAX_TOKENS=100\n")
    environ = {"OPENAI_API_KEY": OTHER_KEY}
    result = load_env(override=False, start=project, environ=environ)
    assert environ == {"OPENAI_API_KEY": OTHER_KEY, "MAX_TOKENS": "100"}
    assert result.names_set == ("MAX_TOKENS",)
    assert result.names_skipped == ("OPENAI_API_KEY",)
    assert str(result) == ("loaded .env: set ['MAX_TOKENS']; kept the environment's value (override=False) "
                           "for ['OPENAI_API_KEY']")


def test_override_true_lets_an_edited_file_win(project: Path) -> None:
    env_file = project / ".env"
    env_file.write_text(f"OPENAI_API_KEY={KEY}\n")
    environ: dict[str, str] = {}
    load_env(override=True, start=project, environ=environ)
    env_file.write_text(f"OPENAI_API_KEY={OTHER_KEY}\n")
    stale = load_env(override=False, start=project, environ=environ)
    assert environ["OPENAI_API_KEY"] == KEY and stale.names_skipped == ("OPENAI_API_KEY",)
    fresh = load_env(override=True, start=project, environ=environ)
    assert environ["OPENAI_API_KEY"] == OTHER_KEY and fresh.names_set == ("OPENAI_API_KEY",)


def test_override_has_no_default(project: Path) -> None:
    (project / ".env").write_text("A=1\n")
    with pytest.raises(TypeError, match="override"):
        load_env(start=project, environ={})  # type: ignore[call-arg]


def test_loads_into_os_environ_by_default(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENV_FILES_TEST_VAR", raising=False)  # registers the restore
    (project / ".env").write_text("ENV_FILES_TEST_VAR=yes\n")
    load_env(override=False, start=project)
    assert os.environ["ENV_FILES_TEST_VAR"] == "yes"


def test_a_name_without_value_is_reported_and_not_set(project: Path) -> None:
    (project / ".env").write_text("OPENAI_API_KEY\nA=1\n")
    environ: dict[str, str] = {}
    result = load_env(override=False, start=project, environ=environ)
    assert environ == {"A": "1"}
    assert result.names_without_value == ("OPENAI_API_KEY",)
    assert "no value given for ['OPENAI_API_KEY']" in str(result)


def test_a_dollar_brace_in_a_secret_is_kept_unless_interpolation_is_asked_for(project: Path) -> None:
    # python-dotenv expands ${...} even inside single quotes; load_env does not by default.
    (project / ".env").write_text("DB_PASSWORD='FAKE-r8${Zq}x!'\n")
    kept: dict[str, str] = {}
    load_env(override=False, start=project, environ=kept)
    assert kept["DB_PASSWORD"] == "FAKE-r8${Zq}x!"
    expanded: dict[str, str] = {}
    load_env(override=False, start=project, environ=expanded, interpolate=True)
    assert expanded["DB_PASSWORD"] == "FAKE-r8x!"


def test_the_result_shows_names_and_a_relative_path_but_no_value(project: Path) -> None:
    (project / "notebooks" / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")
    result = load_env(override=True, start=project / "notebooks", environ={})
    assert str(result) == "loaded notebooks/.env: set ['OPENAI_API_KEY']"
    assert KEY not in repr(result)


# -- bad input ------------------------------------------------------------------------------------

def test_a_malformed_line_is_an_error_with_its_true_line_number(project: Path) -> None:
    # python-dotenv's own warning would say "line 2": it counts the blank lines before the statement.
    (project / ".env").write_text(f"A=1\n\n\nOPENAI_API_KEY {KEY}\nB=2\n")
    environ: dict[str, str] = {}
    with pytest.raises(EnvSyntaxError) as caught:
        load_env(override=False, start=project, environ=environ)
    assert caught.value.line == 4 and caught.value.path == project / ".env"
    assert str(caught.value).startswith(f"{project / '.env'}, line 4: python-dotenv cannot parse")
    assert KEY not in str(caught.value)
    assert environ == {}  # nothing is loaded from a file with a bad line


def test_every_malformed_line_is_listed(project: Path) -> None:
    (project / ".env").write_text(f'OPENAI_API_KEY="{KEY}\nOK=1\n={OTHER_KEY}\n')
    with pytest.raises(EnvSyntaxError, match=r"lines 1, 3: ") as caught:
        load_env(override=False, start=project, environ={})
    assert caught.value.lines == (1, 3)
    assert KEY not in str(caught.value) and OTHER_KEY not in str(caught.value)


def test_a_missing_explicit_path_is_named(project: Path) -> None:
    with pytest.raises(EnvFileNotFoundError, match=r"/project/\.env\.local does not exist"):
        load_env(".env.local", override=False, start=project, environ={})


def test_a_path_outside_the_project_is_refused(project: Path) -> None:
    outside = project.parent / "elsewhere.env"
    outside.write_text(f"OPENAI_API_KEY={KEY}\n")
    for path in (outside, "../elsewhere.env"):
        with pytest.raises(EnvPathOutsideProjectError, match="elsewhere.env is outside the project root"):
            load_env(path, override=False, start=project, environ={})


def test_a_symlink_pointing_outside_the_project_is_refused(project: Path) -> None:
    outside = project.parent / "secrets.env"
    outside.write_text(f"OPENAI_API_KEY={KEY}\n")
    (project / ".env").symlink_to(outside)
    with pytest.raises(EnvPathOutsideProjectError, match=r"project/\.env is outside"):
        load_env(override=False, start=project, environ={})


def test_passing_root_allows_another_folder(project: Path) -> None:
    outside = project.parent / "shared.env"
    outside.write_text("A=1\n")
    environ: dict[str, str] = {}
    load_env(outside, override=False, start=project, root=project.parent, environ=environ)
    assert environ == {"A": "1"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_named(project: Path) -> None:
    env_file = project / ".env"
    env_file.write_text(f"OPENAI_API_KEY={KEY}\n")
    env_file.chmod(0)
    with pytest.raises(EnvFileUnreadableError, match=r"\.env: permission denied"):
        load_env(override=False, start=project, environ={})


def test_a_permission_error_is_named(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Runs as root too (where chmod 0 does not stop reads): the OS error is simulated.
    (project / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(EnvFileUnreadableError, match=r"project/\.env: permission denied.*chmod 600"):
        load_env(override=False, start=project, environ={})


def test_a_folder_given_as_the_file_is_unreadable(project: Path) -> None:
    (project / "conf").mkdir()
    with pytest.raises(EnvFileUnreadableError, match="conf cannot be read: Is a directory"):
        load_env("conf", override=False, start=project, environ={})


def test_a_file_that_is_not_utf8_names_the_line_and_no_byte(project: Path) -> None:
    (project / ".env").write_bytes(b"A=1\nPASSWORD=caf\xe9-FAKE\n")
    with pytest.raises(EnvFileUnreadableError) as caught:
        load_env(override=False, start=project, environ={})
    assert caught.value.line == 2
    assert "line 2: not UTF-8" in str(caught.value)
    assert "caf" not in str(caught.value) and "0xe9" not in str(caught.value)
    # no decode error on the chain: its .object is the whole file
    assert caught.value.__cause__ is None and caught.value.__context__ is None


# -- is_git_ignored -----------------------------------------------------------------------------------

def test_the_materials_gitignore_misses_env_production(project: Path) -> None:
    (project / ".gitignore").write_text(".env\n.env.local\n")
    assert is_git_ignored(project / ".env")
    assert is_git_ignored(project / ".env.local")
    assert not is_git_ignored(project / ".env.production")
    assert not is_git_ignored(project / ".env.example")


def test_the_fixed_gitignore_covers_every_env_file_but_the_template(project: Path) -> None:
    (project / ".gitignore").write_text(".env\n.env.*\n!.env.example\n")
    for name in (".env", ".env.local", ".env.production", "notebooks/.env.staging"):
        assert is_git_ignored(project / name), name
    assert not is_git_ignored(project / ".env.example")


def test_a_tracked_file_is_not_ignored(project: Path) -> None:
    (project / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")
    subprocess.run(["git", "add", ".env"], cwd=project, check=True)
    (project / ".gitignore").write_text(".env\n")
    assert not is_git_ignored(project / ".env")  # the rule came too late
    subprocess.run(["git", "rm", "-q", "--cached", ".env"], cwd=project, check=True)
    assert is_git_ignored(project / ".env")


def test_a_relative_path_uses_the_working_directory(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".gitignore").write_text(".env\n")
    monkeypatch.chdir(project / "notebooks")
    assert is_git_ignored("../.env")
    assert not is_git_ignored("../README.md")


def test_outside_a_repository_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GitCheckError, match=r"failed for .*\.env: fatal: not a git repository"):
        is_git_ignored(tmp_path / ".env")


def test_missing_git_is_an_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(project / "no-such-bin"))
    with pytest.raises(GitCheckError, match="git is not installed"):
        is_git_ignored(project / ".env")


# -- env_drift ----------------------------------------------------------------------------------------

def test_drift_lists_names_missing_on_each_side_in_file_order(tmp_path: Path) -> None:
    env, example = tmp_path / ".env", tmp_path / ".env.example"
    env.write_text(f"OPENAI_API_KEY={KEY}\nOPENAI_API_KEY_2={OTHER_KEY}\nZ_EXTRA=1\n")
    example.write_text("# template\nOPENAI_API_KEY=your-key\nMAX_TOKENS=2000\nDEFAULT_MODEL=gpt\n")
    drift = env_drift(env, example)
    assert drift == EnvDrift(missing_from_example=("OPENAI_API_KEY_2", "Z_EXTRA"),
                             missing_from_env=("MAX_TOKENS", "DEFAULT_MODEL"))
    assert not drift.in_sync
    assert KEY not in repr(drift)


def test_files_with_the_same_names_are_in_sync(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"B={KEY}\nA=1\n")
    (tmp_path / ".env.example").write_text("A=\nexport B=placeholder\n")
    assert env_drift(tmp_path / ".env", tmp_path / ".env.example").in_sync


def test_drift_accepts_a_mapping_such_as_the_environment(tmp_path: Path) -> None:
    (tmp_path / ".env.example").write_text("OPENAI_API_KEY=x\nAPP_ENV=dev\n")
    drift = env_drift({"OPENAI_API_KEY": KEY}, tmp_path / ".env.example")
    assert drift.missing_from_env == ("APP_ENV",) and drift.missing_from_example == ()


def test_drift_names_a_missing_or_malformed_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("A=1\n")
    with pytest.raises(EnvFileNotFoundError, match=r"\.env\.example does not exist"):
        env_drift(tmp_path / ".env", tmp_path / ".env.example")
    (tmp_path / ".env.example").write_text(f"A=1\nOPENAI_API_KEY {KEY}\n")
    with pytest.raises(EnvSyntaxError, match=r"\.env\.example, line 2") as caught:
        env_drift(tmp_path / ".env", tmp_path / ".env.example")
    assert KEY not in str(caught.value)


# -- properties -----------------------------------------------------------------------------------------

NAMES = st.lists(st.from_regex(r"[A-Z][A-Z0-9_]{0,12}", fullmatch=True), max_size=8, unique=True)


@given(NAMES, NAMES)
def test_drift_is_the_mirror_image_of_drift_the_other_way(a: list[str], b: list[str]) -> None:
    forward, backward = env_drift(dict.fromkeys(a, "x"), dict.fromkeys(b, "x")), \
        env_drift(dict.fromkeys(b, "x"), dict.fromkeys(a, "x"))
    assert forward.missing_from_example == backward.missing_from_env
    assert forward.missing_from_env == backward.missing_from_example
    assert set(forward.missing_from_example) == set(a) - set(b)
    assert forward.in_sync == (set(a) == set(b))


@settings(max_examples=40, deadline=None)
@given(NAMES, NAMES)
def test_drift_of_files_matches_drift_of_their_names(a: list[str], b: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        env, example = Path(folder) / ".env", Path(folder) / ".env.example"
        env.write_text("".join(f"{name}=value\n" for name in a))
        example.write_text("".join(f"export {name}=\n" for name in b))
        assert env_drift(env, example) == env_drift(dict.fromkeys(a), dict.fromkeys(b))


BROKEN_LINES = ["{name} {value}\n", '{name}="{value}\n', "={value}\n", "{name} = '{value}\n"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([fmt.name for fmt in KEY_FORMATS]), st.integers(0, 10_000),
       st.sampled_from(BROKEN_LINES), st.integers(0, 3))
def test_no_error_message_ever_holds_the_value(fmt: str, seed: int, broken: str, blank_lines: int) -> None:
    value = fake_key(fmt, seed)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / ".env").write_text("OK=1\n" + "\n" * blank_lines + broken.format(name="API_KEY", value=value))
        with pytest.raises(EnvSyntaxError) as caught:
            load_env(override=False, start=root, root=root, environ={})
        assert caught.value.line == 2 + blank_lines
        assert value not in str(caught.value)
        for part in value.split():  # "Bearer <token>" and URLs: no piece of the secret either
            if len(part) >= 8:
                assert part not in str(caught.value)


# -- encodings, NUL characters, and all-or-nothing loading ----------------------------------------

def body(key: str) -> str:
    return key[len("sk-proj-FAKE"):]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be-bom", "utf-32"])
def test_a_utf16_or_utf32_file_is_refused_by_name_with_nothing_loaded(
        project: Path, encoding: str, exception_text) -> None:
    """Windows PowerShell 5's ``>`` and Out-File write UTF-16 LE with a byte-order mark."""
    text = f"A=1\nOPENAI_API_KEY={KEY}\n"
    big_endian = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    data = big_endian if encoding == "utf-16-be-bom" else text.encode(encoding)
    (project / ".env").write_bytes(data)
    environ: dict[str, str] = {}
    with pytest.raises(EnvFileUnreadableError, match=r"\.env is saved as UTF-(16|32)") as caught:
        load_env(override=False, start=project, environ=environ)
    assert "Set-Content -Encoding utf8" in str(caught.value) and environ == {}
    assert body(KEY) not in exception_text(caught.value)
    assert caught.value.__context__ is None and caught.value.__cause__ is None


@settings(max_examples=40, deadline=None)
@given(lines_before=st.integers(0, 5), seed=st.integers(0, 1000),
       bad=st.sampled_from([b"\xe9", b"\xff", b"\x80\x81"]))
def test_a_latin1_file_is_refused_naming_its_line_with_no_part_of_it_on_the_chain(
        lines_before: int, seed: int, bad: bytes, exception_text) -> None:
    key = fake_key("openai-project", seed)
    data = b"".join(f"V{n}=x\n".encode() for n in range(lines_before))
    data += b"PASSWORD=caf" + bad + f"-{key}\n".encode()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / ".env").write_bytes(data)
        with pytest.raises(EnvFileUnreadableError) as caught:
            load_env(override=False, start=folder, root=folder, environ={})
    assert caught.value.line == lines_before + 1
    shown = exception_text(caught.value)
    assert body(key) not in shown and "caf" not in shown
    assert caught.value.__context__ is None


def test_a_utf8_byte_order_mark_is_dropped_from_the_first_name(project: Path) -> None:
    (project / ".env").write_bytes(codecs.BOM_UTF8 + f"OPENAI_API_KEY={KEY}\nB=2\n".encode())
    environ: dict[str, str] = {}
    result = load_env(override=False, start=project, environ=environ)
    assert result.names_set == ("OPENAI_API_KEY", "B") and environ["OPENAI_API_KEY"] == KEY
    assert read_env_file(project / ".env").startswith("OPENAI_API_KEY=")


@pytest.mark.claims
def test_python_dotenv_drops_a_utf8_byte_order_mark_and_fails_on_utf16(tmp_path: Path) -> None:
    """python-dotenv 1.2.4 reads files as UTF-8 (dotenv/main.py) and drops a leading U+FEFF
    (dotenv/parser.py, ``removeprefix("\\ufeff")``); a UTF-16 file is not UTF-8."""
    (tmp_path / ".env").write_bytes(codecs.BOM_UTF8 + b"OPENAI_API_KEY=x\n")
    assert list(dotenv_values(tmp_path / ".env")) == ["OPENAI_API_KEY"]
    (tmp_path / ".env").write_bytes("OPENAI_API_KEY=x\n".encode("utf-16"))
    with pytest.raises(UnicodeDecodeError):
        dotenv_values(tmp_path / ".env")


def test_a_nul_in_a_value_loads_nothing_and_names_the_file_and_line(
        project: Path, monkeypatch: pytest.MonkeyPatch, exception_text) -> None:
    text = f"FIRST_FAKE=1\nSECOND_FAKE=2\nOPENAI_API_KEY={KEY}\x00\nLAST_FAKE=4\n"
    (project / ".env").write_bytes(text.encode())
    for name in ("FIRST_FAKE", "SECOND_FAKE", "OPENAI_API_KEY", "LAST_FAKE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(EnvFileUnreadableError, match=r"\.env, line 3: a NUL character") as caught:
        load_env(override=True, start=project)
    assert caught.value.line == 3 and body(KEY) not in exception_text(caught.value)
    assert not {"FIRST_FAKE", "SECOND_FAKE", "OPENAI_API_KEY", "LAST_FAKE"} & set(os.environ)


def test_a_utf16_file_without_a_byte_order_mark_is_refused_for_its_nul(project: Path) -> None:
    (project / ".env").write_bytes(f"OPENAI_API_KEY={KEY}\n".encode("utf-16-le"))
    with pytest.raises(EnvFileUnreadableError, match="NUL character.*UTF-16 without a byte-order mark"):
        load_env(override=False, start=project, environ={})


@pytest.mark.claims
def test_python_dotenv_sets_the_lines_before_a_nul_then_raises(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `load_env` guards against: python-dotenv 1.2's load_dotenv sets variables one by one, and
    ``os.environ`` refuses a NUL only when it gets there."""
    monkeypatch.delenv("FIRST_FAKE", raising=False)
    (tmp_path / ".env").write_bytes(b"FIRST_FAKE=1\nSECOND_FAKE=a\x00b\n")
    with pytest.raises(ValueError, match="embedded null"):
        load_dotenv(tmp_path / ".env")
    assert os.environ.pop("FIRST_FAKE") == "1"


def test_a_name_the_environment_cannot_hold_loads_nothing(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".env").write_text("FIRST_FAKE=1\n'NAME=WITH_EQUALS'=x\n")
    monkeypatch.delenv("FIRST_FAKE", raising=False)
    with pytest.raises(EnvFileUnreadableError, match=r"line 2: a variable name that holds '='"):
        load_env(override=True, start=project)
    assert "FIRST_FAKE" not in os.environ


@pytest.mark.claims
def test_python_dotenv_only_logs_a_warning_for_a_line_it_cannot_parse(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Hence `EnvSyntaxError`: python-dotenv 1.2 (dotenv/main.py, with_warn_for_invalid_lines) logs
    "could not parse statement" at WARNING and goes on without the line."""
    (tmp_path / ".env").write_text("A=1\nBROKEN LINE\nB=2\n")
    with caplog.at_level(logging.WARNING, logger="dotenv.main"):
        values = dotenv_values(tmp_path / ".env")
    assert values == {"A": "1", "B": "2"} and "could not parse statement starting at line 2" in caplog.text


def test_the_syntax_error_says_python_dotenv_would_only_log_a_warning(project: Path) -> None:
    (project / ".env").write_text("BROKEN LINE\n")
    with pytest.raises(EnvSyntaxError, match="skip it with only a logged warning"):
        load_env(override=False, start=project, environ={})


def test_every_error_of_the_module_derives_from_its_one_base() -> None:
    import helpers.env_files as module
    errors = [value for value in vars(module).values()
              if isinstance(value, type) and issubclass(value, Exception)
              and value.__module__ == module.__name__]
    assert GitCheckError in errors and all(issubclass(error, module.EnvFileError) for error in errors)


@pytest.mark.claims
def test_python_dotenv_starts_its_search_at_the_working_directory_only_when_sys_gettrace_is_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """python-dotenv 1.2.4, dotenv/main.py (find_dotenv, lines 358-361): ``_is_debugger()`` is
    ``sys.gettrace() is not None``. A debugger or coverage tool built on ``sys.monitoring`` (Python
    3.12+: debugpy, coverage on 3.14) sets no trace function, so there the search starts from the
    calling file's folder, as in a plain run."""
    code, cwd = tmp_path / "code", tmp_path / "cwd"
    for folder in (code, cwd):
        folder.mkdir()
        (folder / ".env").write_text("A=1\n")
    finder = "import dotenv\n\ndef find():\n    return dotenv.find_dotenv()\n"
    (code / "finder_fake_module.py").write_text(finder)
    monkeypatch.syspath_prepend(str(code))
    monkeypatch.chdir(cwd)
    # As in a script run: python-dotenv takes a __main__ without __file__ (a REPL, or a
    # pytest-xdist worker) for an interactive session and starts at the working directory.
    monkeypatch.setattr(sys.modules["__main__"], "__file__", __file__, raising=False)
    monkeypatch.delattr(sys, "ps1", raising=False)
    monkeypatch.delattr(sys, "ps2", raising=False)
    monkeypatch.setattr(sys, "frozen", False, raising=False)
    import finder_fake_module  # type: ignore[import-not-found]

    previous = sys.gettrace()
    try:
        sys.settrace(None)
        plain = finder_fake_module.find()
        sys.settrace(lambda *_: None)
        traced = finder_fake_module.find()
    finally:
        sys.settrace(previous)
        sys.modules.pop("finder_fake_module", None)
    assert (Path(plain).parent, Path(traced).parent) == (code, cwd)


# -- adversarial inputs: line endings, names, interpolation, FIFOs ---------------------------------

@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("bad", [b"\x00", b"\xe9"])
def test_an_unreadable_line_is_numbered_as_python_dotenv_counts_lines(
        project: Path, newline: str, bad: bytes) -> None:
    # Old Mac files end lines with CR alone; python-dotenv's parser counts those as line breaks too.
    data = f"FIRST_FAKE=1{newline}SECOND_FAKE=2{newline}PASSWORD=caf".encode() + bad + newline.encode()
    (project / ".env").write_bytes(data)
    with pytest.raises(EnvFileUnreadableError, match=r"\.env, line 3: ") as caught:
        load_env(override=True, start=project, environ={})
    assert caught.value.line == 3


@pytest.mark.parametrize("name", ["'A\nB'", "'A\rB'", "\u200bOPENAI_API_KEY", "OPENAI_API_KEY\u200d",
                                  "\u2060A", "'A B'", "'A\tB'", "'\u00a0A'"])
def test_a_name_with_an_invisible_character_or_whitespace_loads_nothing(
        project: Path, name: str, exception_text) -> None:
    # A zero-width space pasted before OPENAI_API_KEY would set a variable nobody reads.
    (project / ".env").write_text(f"FIRST_FAKE=1\n{name}={KEY}\n")
    environ: dict[str, str] = {}
    with pytest.raises(EnvFileUnreadableError, match=r"line 2: a variable name that holds") as caught:
        load_env(override=True, start=project, environ=environ)
    assert environ == {} and body(KEY) not in exception_text(caught.value)


def test_interpolation_with_override_false_uses_the_value_the_environment_kept(project: Path) -> None:
    # python-dotenv 1.2.4's load_dotenv(override=False) expands ${HOST} to the value it kept.
    (project / ".env").write_text("HOST=dev.example\nURL=https://${HOST}/v1\n")
    environ = {"HOST": "prod.example"}
    load_env(override=False, start=project, environ=environ, interpolate=True)
    assert environ == {"HOST": "prod.example", "URL": "https://prod.example/v1"}


def test_interpolation_with_override_true_uses_the_files_value(project: Path) -> None:
    (project / ".env").write_text("HOST=dev.example\nURL=https://${HOST}/v1\n")
    environ = {"HOST": "prod.example"}
    load_env(override=True, start=project, environ=environ, interpolate=True)
    assert environ == {"HOST": "dev.example", "URL": "https://dev.example/v1"}


def test_interpolation_reads_the_mapping_it_loads_into_not_os_environ(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGION_FAKE", "from-os-environ")
    (project / ".env").write_text("URL=https://${REGION_FAKE}.example/\nOWN=${OWN:-default}\n")
    environ = {"REGION_FAKE": "from-the-target"}
    load_env(override=True, start=project, environ=environ, interpolate=True)
    assert environ["URL"] == "https://from-the-target.example/" and environ["OWN"] == "default"


@pytest.mark.claims
def test_python_dotenv_expands_with_the_kept_value_when_override_is_false(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """python-dotenv 1.2.4 (dotenv/main.py, resolve_variables): with override=False the
    environment's values come first when expanding ${...}, with override=True the file's."""
    monkeypatch.setenv("HOST_FAKE", "prod.example")
    monkeypatch.delenv("URL_FAKE", raising=False)
    (tmp_path / ".env").write_text("HOST_FAKE=dev.example\nURL_FAKE=https://${HOST_FAKE}/\n")
    load_dotenv(tmp_path / ".env", override=False)
    assert os.environ.pop("URL_FAKE") == "https://prod.example/"
    load_dotenv(tmp_path / ".env", override=True)
    assert os.environ.pop("URL_FAKE") == "https://dev.example/"


def test_a_named_pipe_env_is_found_and_loaded_like_python_dotenv_does(project: Path) -> None:
    # Secret managers (1Password's environments) mount .env as a named pipe (FIFO) that they
    # write on each open; python-dotenv 1.2.4 and pydantic-settings 2.16.3 accept one.
    fifo = project / "notebooks" / ".env"
    os.mkfifo(fifo)
    writer = _write_once(fifo, f"OPENAI_API_KEY={KEY}\n")
    try:
        assert find_env_file(start=project / "notebooks") == fifo
        environ: dict[str, str] = {}
        load_env(override=True, start=project / "notebooks", environ=environ)
    finally:
        writer.join(timeout=5)
    assert environ == {"OPENAI_API_KEY": KEY}


@pytest.mark.claims
def test_python_dotenv_finds_and_reads_a_named_pipe(tmp_path: Path) -> None:
    """python-dotenv 1.2.4 (dotenv/main.py, _is_file_or_fifo) takes a FIFO for a file."""
    fifo = tmp_path / ".env"
    os.mkfifo(fifo)
    writer = _write_once(fifo, "A_FAKE=1\n")
    try:
        assert dotenv_values(fifo) == {"A_FAKE": "1"}
    finally:
        writer.join(timeout=5)


def _write_once(fifo: Path, text: str) -> threading.Thread:
    """Write `text` to the named pipe in the background, as a secret manager would."""
    writer = threading.Thread(target=fifo.write_text, args=(text,), daemon=True)
    writer.start()
    return writer


def test_is_git_ignored_of_the_filesystem_root_is_a_git_check_error() -> None:
    with pytest.raises(GitCheckError):
        is_git_ignored("/")


_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
_VALUES = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=12)
_LINES = st.tuples(st.sampled_from(["", "export ", "  "]), _NAMES, st.sampled_from(["=", " = ", "="]),
                   st.sampled_from(["", "'", '"']), _VALUES, st.sampled_from(["\n", "\r\n", "\r", " # c\n"]))


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(_LINES, max_size=6))
def test_read_env_values_gives_what_python_dotenv_gives_without_interpolation(lines) -> None:
    text = "".join(f"{export}{name}{eq}{quote}{value}{quote}{end}"
                   for export, name, eq, quote, value, end in lines)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ".env"
        path.write_bytes(text.encode())
        try:
            ours = read_env_values(path)
        except (EnvSyntaxError, EnvFileUnreadableError):
            return  # a line python-dotenv would skip, or a name load_env refuses
        assert ours == dict(dotenv_values(path, interpolate=False))


def test_a_symlink_loop_given_as_the_file_is_an_env_file_error(project: Path) -> None:
    (project / ".env").symlink_to(project / ".env")
    with pytest.raises(EnvFileUnreadableError, match="symbolic link"):
        load_env(".env", override=True, start=project, environ={})
    with pytest.raises(EnvFileNotFoundError):  # a search passes it by, as python-dotenv's does
        find_env_file(start=project)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_a_quoted_multiline_value_from_a_windows_file_has_the_line_breaks_python_dotenv_gives(
        project: Path, newline: str) -> None:
    # python-dotenv (and so pydantic-settings) opens the file in text mode: CRLF and CR become LF.
    pem = newline.join(["-----BEGIN FAKE KEY-----", "MIIEFAKE", "-----END FAKE KEY-----"])
    (project / ".env").write_bytes(f'PEM="{pem}"{newline}B=2{newline}'.encode())
    environ: dict[str, str] = {}
    load_env(override=True, start=project, environ=environ)
    assert environ["PEM"] == "-----BEGIN FAKE KEY-----\nMIIEFAKE\n-----END FAKE KEY-----"
    assert environ == dict(dotenv_values(project / ".env"))


_REF_NAMES = st.sampled_from(["FAKE_A", "FAKE_B", "FAKE_C"])
_REF_VALUES = st.lists(st.one_of(st.sampled_from(["x", "-", "$", "{", "}"]),
                                 _REF_NAMES.map(lambda n: f"${{{n}}}"),
                                 _REF_NAMES.map(lambda n: f"${{{n}:-dflt}}")), max_size=4).map("".join)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.tuples(_REF_NAMES, _REF_VALUES), max_size=5),
       before=st.dictionaries(_REF_NAMES, st.sampled_from(["", "env"])), override=st.booleans())
def test_interpolation_gives_what_load_dotenv_gives(lines, before, override) -> None:
    text = "".join(f"{name}='{value}'\n" for name, value in lines)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ".env"
        path.write_text(text)
        clean = {name: value for name, value in os.environ.items() if not name.startswith("FAKE_")}
        with mock.patch.dict(os.environ, {**clean, **before}, clear=True):
            load_dotenv(path, override=override)
            theirs = {name: os.environ[name] for name in ("FAKE_A", "FAKE_B", "FAKE_C") if name in os.environ}
        ours = dict(before)
        load_env(path, override=override, root=folder, environ=ours, interpolate=True)
    assert ours == theirs


def test_a_name_set_twice_can_extend_itself_when_interpolating(project: Path) -> None:
    (project / ".env").write_text("FAKE_PATH=src\nFAKE_PATH=${FAKE_PATH}:lib\n")
    environ: dict[str, str] = {}
    load_env(override=True, start=project, environ=environ, interpolate=True)
    assert environ == {"FAKE_PATH": "src:lib"}
