"""Tests for helpers.settings: layering, prod rules, secrets folder, errors that never hold a value."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from unittest import mock

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError
from pydantic_settings.exceptions import SettingsError as SettingsSourceError

from helpers import settings as settings_module
from helpers.env_files import EnvFileError, read_env_file
from helpers.key_formats import KEY_FORMATS, fake_key, find_keys
from helpers.key_hygiene import diagnose_key
from helpers.settings import (
    AppSettings,
    Problem,
    SettingsError,
    choose_env,
    find_env_dir,
    load_settings,
    settings_files,
)

REPO = Path(__file__).resolve().parents[1]
FIELD_VARIABLES = [name.upper() for name in AppSettings.model_fields]
OTHER_VARIABLES = ["APP_ENV", "SECRETS_DIR", "PYDANTIC_SETTINGS_DEBUG"]
KEY = fake_key("openai-project", 1)
DEV_KEY = fake_key("openai-project", 2)
TEST_KEY = fake_key("openai-project", 3)
PROD_KEY = fake_key("openai-project", 4)


@pytest.fixture
def project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shared project as working directory, and no settings in os.environ."""
    for name in list(os.environ):
        if name.upper() in FIELD_VARIABLES + OTHER_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(project)
    return project


def write(path: Path, **variables: str) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in variables.items()))
    return path


def error_of(call, *args, **kwargs) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        call(*args, **kwargs)
    return caught.value


def holds_part_of(text: str, key: str, size: int = 8) -> bool:
    """Whether `size` characters in a row of the key's random part (after ``sk-proj-FAKE``) are in `text`."""
    body = key[len("sk-proj-FAKE"):]
    return any(body[i:i + size] in text for i in range(len(body) - size + 1))


def full_text(err: SettingsError) -> str:
    """Everything a SettingsError can show: message, repr, problems, errors(), chained exceptions."""
    return "\n".join([str(err), repr(err), repr(err.problems), repr(err.errors()),
                      repr(err.__cause__), repr(err.__context__), repr(err.args)])


# --- the model -------------------------------------------------------------------------------------

def test_fields_mirror_env_example():
    example = set(dotenv_values(REPO / ".env.example"))
    assert set(FIELD_VARIABLES) <= example
    assert example - set(FIELD_VARIABLES) <= set(OTHER_VARIABLES)  # read by load_settings, not fields


def test_model_config_is_v2_style_and_hides_input():
    assert AppSettings.model_config["hide_input_in_errors"] is True
    assert AppSettings.model_config["extra"] == "ignore"
    assert "Config" not in vars(AppSettings)


def test_keys_are_secret_and_never_in_repr(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DEEPSEEK_API_KEY", fake_key("sk-32", 1))
    loaded = load_settings()
    assert isinstance(loaded.openai_api_key, SecretStr)
    assert loaded.openai_api_key.get_secret_value() == KEY
    shown = f"{loaded} {loaded!r} {loaded.model_dump()} {loaded.model_dump_json()}"
    assert KEY not in shown and fake_key("sk-32", 1) not in shown


def test_defaults_match_env_example(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    loaded = load_settings()
    example = dotenv_values(REPO / ".env.example")
    assert loaded.default_model == example["DEFAULT_MODEL"]
    assert loaded.max_tokens == int(example["MAX_TOKENS"])
    assert loaded.temperature == float(example["TEMPERATURE"])
    assert (loaded.app_env, loaded.tutorial_provider) == (example["APP_ENV"], example["TUTORIAL_PROVIDER"])
    assert loaded.anthropic_api_key is None


def test_empty_optional_key_means_not_set(project: Path):
    write(project / ".env", OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY="")
    assert load_settings().anthropic_api_key is None


def test_unknown_variables_in_env_files_are_ignored(project: Path):
    write(project / ".env", OPENAI_API_KEY=KEY, SOME_OTHER_TOOL_TOKEN="x", DATABASE_URL="postgres://db")
    assert load_settings().openai_api_key.get_secret_value() == KEY


# --- layering ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("in_environment", "in_env_dev", "in_env", "winner"),
    [
        ("100", "200", "300", "100"),
        (None, "200", "300", "200"),
        (None, None, "300", "300"),
        ("100", None, "300", "100"),
        (None, None, None, "2000"),
    ],
)
def test_environment_beats_env_app_env_beats_env(
    project: Path, monkeypatch: pytest.MonkeyPatch, in_environment, in_env_dev, in_env, winner
):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    if in_environment:
        monkeypatch.setenv("MAX_TOKENS", in_environment)
    write(project / ".env.dev", **({"MAX_TOKENS": in_env_dev} if in_env_dev else {}))
    write(project / ".env", **({"MAX_TOKENS": in_env} if in_env else {}))
    assert load_settings().max_tokens == int(winner)


def test_each_environment_gets_its_own_key(project: Path, monkeypatch: pytest.MonkeyPatch):
    write(project / ".env", OPENAI_API_KEY=DEV_KEY, APP_ENV="dev")
    write(project / ".env.test", OPENAI_API_KEY=TEST_KEY)
    assert load_settings().openai_api_key.get_secret_value() == DEV_KEY
    assert load_settings("test").openai_api_key.get_secret_value() == TEST_KEY
    monkeypatch.setenv("APP_ENV", "test")
    assert load_settings().openai_api_key.get_secret_value() == TEST_KEY
    assert load_settings("dev").app_env == "dev"  # the argument beats APP_ENV


def test_app_env_in_env_file_picks_the_layer(project: Path):
    write(project / ".env", OPENAI_API_KEY=DEV_KEY, APP_ENV="test")
    write(project / ".env.test", OPENAI_API_KEY=TEST_KEY, APP_ENV="dev")
    loaded = load_settings()
    assert loaded.app_env == "test"  # the chosen environment, whatever a file's APP_ENV line says
    assert loaded.openai_api_key.get_secret_value() == TEST_KEY
    assert [path.name for path in settings_files()] == [".env", ".env.test"]


def test_files_are_found_from_a_subfolder(project: Path, monkeypatch: pytest.MonkeyPatch):
    write(project / ".env", OPENAI_API_KEY=KEY)
    monkeypatch.chdir(project / "notebooks")
    assert find_env_dir() == project
    assert load_settings().openai_api_key.get_secret_value() == KEY
    assert find_env_dir(str(project / "notebooks")) == project  # a str path works as well as a Path
    assert load_settings(search_from=str(project)).openai_api_key.get_secret_value() == KEY


def test_search_stops_at_the_project_root(project: Path, monkeypatch: pytest.MonkeyPatch):
    write(project.parent / ".env", OPENAI_API_KEY=KEY)
    assert find_env_dir() is None
    assert "OPENAI_API_KEY" in [problem.variable for problem in error_of(load_settings).problems]


def test_both_files_come_from_the_nearest_folder(project: Path, monkeypatch: pytest.MonkeyPatch):
    write(project / ".env", OPENAI_API_KEY=KEY, MAX_TOKENS="300")
    (project / "app").mkdir()
    write(project / "app" / ".env.dev", MAX_TOKENS="200")
    monkeypatch.chdir(project / "app")
    assert settings_files() == (project / "app" / ".env.dev",)
    assert settings_files(search_from=project) == (project / ".env",)


# --- prod -----------------------------------------------------------------------------------------

def test_prod_reads_no_env_file(project: Path, monkeypatch: pytest.MonkeyPatch):
    write(project / ".env", OPENAI_API_KEY=DEV_KEY)
    write(project / ".env.prod", OPENAI_API_KEY=PROD_KEY)
    assert settings_files("prod") == ()
    err = error_of(load_settings, "prod")
    assert [problem.variable for problem in err.problems] == ["OPENAI_API_KEY"]
    assert "prod reads no .env file" in str(err)
    monkeypatch.setenv("OPENAI_API_KEY", PROD_KEY)
    assert load_settings("prod").openai_api_key.get_secret_value() == PROD_KEY


def test_prod_named_in_env_file_is_refused(project: Path):
    write(project / ".env", OPENAI_API_KEY=KEY, APP_ENV="prod")
    err = error_of(load_settings)
    assert err.problems == [Problem("APP_ENV", "is set to prod in .env, but prod reads no .env file",
                                    "set APP_ENV=prod in the real environment of the production process")]


@pytest.mark.parametrize("env", ["production", "staging", ""])
def test_unknown_environment_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch, env: str):
    monkeypatch.setenv("APP_ENV", env or "x")
    err = error_of(choose_env)
    assert err.problems[0].variable == "APP_ENV" and "dev, test, prod" in str(err)
    assert error_of(load_settings, env).problems[0].variable == "env argument"


# --- secrets folder -------------------------------------------------------------------------------

@pytest.mark.parametrize("via", ["argument", "SECRETS_DIR"])
def test_mounted_secrets_are_read_in_prod(project: Path, monkeypatch: pytest.MonkeyPatch, via: str):
    secrets = project / "run-secrets"
    secrets.mkdir()
    (secrets / "OPENAI_API_KEY").write_text(PROD_KEY + "\n")  # mounted files often end with a newline
    if via == "SECRETS_DIR":
        monkeypatch.setenv("SECRETS_DIR", str(secrets))
    loaded = load_settings("prod", secrets_dir=secrets if via == "argument" else None)
    assert loaded.openai_api_key.get_secret_value() == PROD_KEY


def test_secrets_folder_is_below_env_files_and_environment(project: Path, monkeypatch: pytest.MonkeyPatch):
    secrets = project / "secrets"
    secrets.mkdir()
    (secrets / "OPENAI_API_KEY").write_text(PROD_KEY)
    (secrets / "MAX_TOKENS").write_text("111")
    (secrets / "TEMPERATURE").write_text("1.5")
    write(project / ".env", OPENAI_API_KEY=DEV_KEY, MAX_TOKENS="222")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    loaded = load_settings(secrets_dir=secrets)
    assert loaded.openai_api_key.get_secret_value() == KEY
    assert (loaded.max_tokens, loaded.temperature) == (222, 1.5)


def test_quoted_secret_file_is_a_hygiene_error(project: Path):
    secrets = project / "secrets"
    secrets.mkdir()
    (secrets / "OPENAI_API_KEY").write_text(f'"{PROD_KEY}"')
    err = error_of(load_settings, "prod", secrets_dir=secrets)
    assert err.problems[0].variable == "OPENAI_API_KEY" and "quote" in err.problems[0].problem
    assert not holds_part_of(full_text(err), PROD_KEY)


def test_an_empty_secrets_dir_means_none(project: Path, monkeypatch: pytest.MonkeyPatch):
    (project / "OPENAI_API_KEY").write_text(KEY)  # in the working directory: must not be read as a secret
    monkeypatch.setenv("SECRETS_DIR", "")
    for secrets_dir in ("", None):
        err = error_of(load_settings, "prod", secrets_dir=secrets_dir)
        assert [problem.variable for problem in err.problems] == ["OPENAI_API_KEY"]


@pytest.mark.parametrize("via", ["argument", "SECRETS_DIR"])
def test_missing_secrets_folder_is_named(project: Path, monkeypatch: pytest.MonkeyPatch, via: str):
    missing = project / "no-such-folder"
    if via == "SECRETS_DIR":
        monkeypatch.setenv("SECRETS_DIR", str(missing))
    err = error_of(load_settings, secrets_dir=missing if via == "argument" else None)
    assert err.problems[0].variable == ("secrets_dir argument" if via == "argument" else "SECRETS_DIR")


# --- errors ---------------------------------------------------------------------------------------

def test_every_problem_is_listed_by_variable_name_with_a_hint(project: Path, monkeypatch: pytest.MonkeyPatch):
    bad = {"MAX_TOKENS": "abc-FAKE-not-a-number", "TEMPERATURE": "9.5", "TUTORIAL_PROVIDER": "remote-FAKE",
           "DEFAULT_MODEL": "   "}
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    err = error_of(load_settings)
    assert [problem.variable for problem in err.problems] == [
        "OPENAI_API_KEY", "DEFAULT_MODEL", "MAX_TOKENS", "TEMPERATURE", "TUTORIAL_PROVIDER"]
    assert all(problem.hint and problem.problem for problem in err.problems)
    assert "OPENAI_API_KEY: is missing" in str(err)
    text = full_text(err)
    assert "openai_api_key" not in text and "max_tokens" not in text  # environment names, not field names
    for value in ("abc-FAKE-not-a-number", "9.5", "remote-FAKE"):
        assert value not in text


def test_error_is_not_chained_to_the_validation_error(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("MAX_TOKENS", KEY)  # a key pasted on the wrong line
    err = error_of(load_settings)
    assert err.__cause__ is None and err.__context__ is None
    assert all(set(error) == {"variable", "problem", "hint"} for error in err.errors())
    assert not holds_part_of(full_text(err), KEY)


@pytest.mark.claims
def test_plain_model_error_holds_no_input_in_its_message(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("MAX_TOKENS", KEY)
    with pytest.raises(ValidationError) as caught:
        AppSettings()
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value.errors(include_input=False))


# --- key hygiene ----------------------------------------------------------------------------------

DIRTY = {
    "trailing newline": KEY + "\n",
    "leading space": " " + KEY,
    "double quotes": f'"{KEY}"',
    "single quotes": f"'{KEY}'",
    "typographic quotes": f"\u201c{KEY}\u201d",
    "line break inside": KEY[:20] + "\n" + KEY[20:],
}


KEY_VARIABLES = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DASHSCOPE_API_KEY", "DEEPSEEK_API_KEY"]


@pytest.mark.parametrize("variable", KEY_VARIABLES)
@pytest.mark.parametrize("dirty", DIRTY.values(), ids=DIRTY.keys())
def test_dirty_keys_are_reported_by_variable(project: Path, monkeypatch: pytest.MonkeyPatch, variable, dirty):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv(variable, dirty)
    err = error_of(load_settings)
    assert [problem.variable for problem in err.problems] == [variable]
    assert not holds_part_of(full_text(err), KEY)


def test_quotes_inside_a_dotenv_value_survive_and_are_caught(project: Path):
    (project / ".env").write_text(f"OPENAI_API_KEY=\"'{KEY}'\"\n")  # quoted twice: dotenv removes one pair
    assert error_of(load_settings).problems[0].variable == "OPENAI_API_KEY"


@pytest.mark.parametrize(("value", "expected"), [
    (KEY + " ", "whitespace"), (KEY[:20] + "\t" + KEY[20:], "inside"), (f"'{KEY}", "quote"),
    (f"{KEY}`", "quote"), ("\ufeff" + KEY, "ZERO WIDTH NO-BREAK SPACE"), (KEY + "\u200b", "ZERO WIDTH SPACE"),
    ("your-openai-api-key-here", "placeholder"), (f"OPENAI_API_KEY={KEY}", "NAME=value"),
])
def test_settings_refuse_what_diagnose_key_flags_naming_the_variable_not_the_value(
        project: Path, monkeypatch: pytest.MonkeyPatch, value: str, expected: str):
    assert diagnose_key(value)  # one definition of a dirty key, shared with validation
    monkeypatch.setenv("OPENAI_API_KEY", value)
    err = error_of(load_settings)
    assert [problem.variable for problem in err.problems] == ["OPENAI_API_KEY"]
    assert expected in err.problems[0].problem and not holds_part_of(full_text(err), KEY)


@pytest.mark.parametrize("clean", [KEY, fake_key("anthropic", 1), fake_key("sk-32", 1), "key-of-a-new-shape"])
def test_clean_keys_pass(project: Path, monkeypatch: pytest.MonkeyPatch, clean: str):
    assert diagnose_key(clean) == []
    monkeypatch.setenv("OPENAI_API_KEY", clean)
    assert load_settings().openai_api_key.get_secret_value() == clean


# --- PYDANTIC_SETTINGS_DEBUG ----------------------------------------------------------------------

def test_debug_logging_shows_names_not_values(project: Path, monkeypatch: pytest.MonkeyPatch, caplog):
    write(project / ".env", OPENAI_API_KEY=KEY)
    monkeypatch.setenv("DEEPSEEK_API_KEY", fake_key("sk-32", 1))
    monkeypatch.setenv("PYDANTIC_SETTINGS_DEBUG", "1")
    with caplog.at_level(logging.DEBUG, logger="pydantic_settings"):
        load_settings()
    assert "DotEnvSettingsSource: OPENAI_API_KEY" in caplog.text  # our hook ran (it is a private one)
    assert "EnvSettingsSource: DEEPSEEK_API_KEY" in caplog.text
    assert KEY not in caplog.text and fake_key("sk-32", 1) not in caplog.text


# --- the property ---------------------------------------------------------------------------------
# "The error holds no part of the secret", made testable: the error text must not change at all
# when the secret changes. A text that does not depend on the secret can hold no piece of it.
# (A substring test such as "no 8 characters of the secret appear" gives false alarms: Hypothesis
# may well draw "is missing" or "MAX_TOKENS" as a secret, and those are in every message.)

PROVIDERS = ("mock", "live")
ENV_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
clean_secrets = st.text(ENV_CHARS, min_size=1, max_size=200).filter(lambda s: not diagnose_key(s))
# (variable, an invalid value, a fixed invalid value that fails the same way)
invalid_others = st.one_of(
    st.tuples(st.just("MAX_TOKENS"), st.integers(max_value=0).map(str), st.just("0")),
    st.tuples(st.just("TEMPERATURE"), st.floats(min_value=2, exclude_min=True).map(repr), st.just("3.0")),
    st.tuples(st.just("TEMPERATURE"), st.floats(max_value=0, exclude_max=True).map(repr), st.just("-1.0")),
    st.tuples(st.just("TUTORIAL_PROVIDER"),
              st.text(ENV_CHARS, min_size=1).filter(lambda s: s not in PROVIDERS), st.just("remote")),
)
REFERENCE_SECRET = fake_key("openai-project", 99)


@pytest.fixture(scope="module")
def empty_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("empty-project")
    (root / "pyproject.toml").write_text("")
    return root


def settings_error_text(root: Path, environ: dict[str, str]) -> str:
    with mock.patch.dict(os.environ, environ, clear=True), pytest.raises(SettingsError) as caught:
        load_settings(search_from=root)
    return full_text(caught.value)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(secret=clean_secrets, variable=st.sampled_from(KEY_VARIABLES), other=invalid_others)
def test_error_text_depends_on_neither_secret_nor_bad_value(empty_project: Path, secret, variable, other):
    assume(secret != REFERENCE_SECRET)
    name, bad_value, same_failure = other
    base = {"OPENAI_API_KEY": REFERENCE_SECRET} if variable != "OPENAI_API_KEY" else {}
    text = settings_error_text(empty_project, {**base, variable: secret, name: bad_value})
    reference = settings_error_text(empty_project, {**base, variable: REFERENCE_SECRET, name: same_failure})
    assert text == reference


@settings(max_examples=100)
@given(core=clean_secrets, before=st.sampled_from(["", " ", "\t", '"', "'"]),
       after=st.sampled_from(["\n", " ", '"', "\u201d"]))
def test_hygiene_error_does_not_depend_on_the_dirty_key(empty_project: Path, core, before, after):
    assume(core != REFERENCE_SECRET)
    text = settings_error_text(empty_project, {"OPENAI_API_KEY": before + core + after})
    assert text == settings_error_text(empty_project, {"OPENAI_API_KEY": before + REFERENCE_SECRET + after})


# --- a key pasted on the wrong line ---------------------------------------------------------------

SHAPED_FORMATS = [fmt.name for fmt in KEY_FORMATS if fmt.name not in ("assigned-key",)]


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(SHAPED_FORMATS), seed=st.integers(0, 10_000))
def test_a_key_on_the_default_model_line_is_refused_by_name(
        empty_project: Path, fmt: str, seed: int, exception_text):
    key = fake_key(fmt, seed)
    with mock.patch.dict(os.environ, {"OPENAI_API_KEY": KEY, "DEFAULT_MODEL": key}, clear=True):
        err = error_of(load_settings, search_from=empty_project)
    assert [problem.variable for problem in err.problems] == ["DEFAULT_MODEL"]
    assert "shaped like an API key" in err.problems[0].problem
    shown = exception_text(err) + repr(err.errors())
    assert all(part not in shown for part in key.split() if len(part) >= 12)


class WithMoreText(AppSettings):
    """A subclass, as an application would write one: its own text settings are covered too."""

    region: str = "eu-west-1"
    log_label: str | None = None


@pytest.mark.parametrize("field", ["region", "log_label"])
def test_text_fields_of_a_subclass_refuse_a_key_too(
        project: Path, monkeypatch: pytest.MonkeyPatch, field: str):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv(field.upper(), DEV_KEY)
    with pytest.raises(ValidationError) as caught:
        WithMoreText()
    assert caught.value.errors()[0]["loc"] == (field,)
    assert not holds_part_of(str(caught.value), DEV_KEY)


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(model=st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")),
                     min_size=1, max_size=80))
def test_whatever_loads_print_settings_shows_no_key_shape(empty_project: Path, model: str):
    """The class, not the example: any text setting that loads is free of key shapes in repr()."""
    assume(model.strip())
    with mock.patch.dict(os.environ, {"OPENAI_API_KEY": KEY, "DEFAULT_MODEL": model}, clear=True):
        try:
            loaded = load_settings(search_from=empty_project)
        except SettingsError as err:
            assert [problem.variable for problem in err.problems] == ["DEFAULT_MODEL"]
            return
    assert find_keys(f"{loaded} {loaded!r} {loaded.model_dump()}") == []


@pytest.mark.parametrize("char", ["\u200b", "\ufeff", "\x00", "\u2028"])
def test_an_invisible_character_in_a_text_setting_is_refused(project: Path, char: str):
    secrets = project / "secrets"
    secrets.mkdir()
    (secrets / "DEFAULT_MODEL").write_text(f"gpt-4o{char}-mini")
    (secrets / "OPENAI_API_KEY").write_text(KEY)
    err = error_of(load_settings, secrets_dir=secrets)
    assert [problem.variable for problem in err.problems] == ["DEFAULT_MODEL"]
    assert "invisible character" in err.problems[0].problem


# --- files that are not UTF-8 ---------------------------------------------------------------------

@pytest.mark.parametrize(("data", "expected"), [
    ((f"OPENAI_API_KEY={KEY}\n").encode("utf-16"), "saved as UTF-16"),
    (b"A=1\n" + f"OPENAI_API_KEY={KEY}".encode() + b"\xe9\n", "line 2: not UTF-8"),
    (f"A=1\nB=2\nOPENAI_API_KEY={KEY}\x00\n".encode(), "line 3: a NUL character"),
], ids=["utf-16", "latin-1", "nul"])
@pytest.mark.parametrize("which", [".env", ".env.dev"])
def test_an_env_file_that_is_not_utf8_text_is_named_with_nothing_on_the_chain(
        project: Path, data: bytes, expected: str, which: str, exception_text):
    (project / which).write_bytes(data)
    if which != ".env":
        write(project / ".env", MAX_TOKENS="100")
    err = error_of(load_settings)
    assert [problem.variable for problem in err.problems] == [which] and expected in str(err)
    assert err.__context__ is None and err.__cause__ is None
    assert not holds_part_of(exception_text(err), KEY)


def test_choosing_app_env_from_a_utf16_env_file_is_a_settings_error(project: Path, exception_text):
    (project / ".env").write_bytes(f"APP_ENV=test\nOPENAI_API_KEY={KEY}\n".encode("utf-16"))
    err = error_of(choose_env)
    assert err.problems[0].variable == ".env" and "UTF-16" in str(err)
    assert err.__context__ is None and not holds_part_of(exception_text(err), KEY)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "latin-1"])
def test_a_secret_file_that_is_not_utf8_is_named_with_nothing_on_the_chain(
        project: Path, encoding: str, exception_text):
    secrets = project / "secrets"
    secrets.mkdir()
    (secrets / "OPENAI_API_KEY").write_bytes((PROD_KEY + "\u00e9").encode(encoding))
    err = error_of(load_settings, "prod", secrets_dir=secrets)
    assert [problem.variable for problem in err.problems] == ["OPENAI_API_KEY"]
    assert "not UTF-8" in str(err) and err.__context__ is None
    assert not holds_part_of(exception_text(err), PROD_KEY)


@pytest.mark.claims
def test_pydantic_settings_lets_a_raw_decode_error_through_for_a_utf16_secret_file(project: Path):
    """Why load_settings checks secret files first: pydantic-settings 2.16 reads them with
    ``path.read_text(encoding='utf-8')`` (sources/providers/secrets.py) and raises its own
    SettingsError from the UnicodeDecodeError, whose ``.object`` is the whole file."""
    secrets = project / "secrets"
    secrets.mkdir()
    (secrets / "OPENAI_API_KEY").write_bytes(PROD_KEY.encode("utf-16"))
    with pytest.raises(SettingsSourceError) as caught:
        AppSettings(_secrets_dir=secrets)
    assert isinstance(caught.value.__cause__, UnicodeDecodeError)
    assert caught.value.__cause__.object == PROD_KEY.encode("utf-16")


@pytest.mark.parametrize(("content", "finding"), [
    ("\ufeff" + PROD_KEY, "ZERO WIDTH NO-BREAK SPACE"), (PROD_KEY + "\u200b", "ZERO WIDTH SPACE"),
    (PROD_KEY[:20] + "\x00" + PROD_KEY[20:], "invisible"), (f"\u201c{PROD_KEY}\u201d", "quote"),
], ids=["bom", "zero-width", "nul", "typographic-quotes"])
def test_a_secret_file_key_with_an_odd_character_is_refused_never_kept(
        project: Path, content: str, finding: str, exception_text):
    secrets = project / "secrets"
    secrets.mkdir()
    (secrets / "OPENAI_API_KEY").write_text(content, encoding="utf-8")
    err = error_of(load_settings, "prod", secrets_dir=secrets)
    assert [problem.variable for problem in err.problems] == ["OPENAI_API_KEY"]
    assert finding in err.problems[0].problem and not holds_part_of(exception_text(err), PROD_KEY)


def test_a_file_that_turns_bad_after_the_check_still_leaves_nothing_on_the_chain(
        project: Path, monkeypatch: pytest.MonkeyPatch, exception_text):
    secrets = project / "secrets"
    secrets.mkdir()
    (secrets / "OPENAI_API_KEY").write_bytes(PROD_KEY.encode("utf-16"))
    monkeypatch.setattr(settings_module, "_unreadable_files", lambda *_: [])  # as if it changed since
    err = error_of(load_settings, "prod", secrets_dir=secrets)
    assert err.problems == [Problem("settings files", "a file changed while loading and is not UTF-8 text",
                                    "save the .env and secret files as UTF-8 and load again")]
    assert err.__context__ is None
    assert not holds_part_of(exception_text(err), PROD_KEY)


def test_every_error_of_the_module_derives_from_settings_error():
    errors = [value for value in vars(settings_module).values()
              if isinstance(value, type) and issubclass(value, Exception)
              and value.__module__ == settings_module.__name__]
    assert errors == [SettingsError]


def test_an_env_file_with_a_utf8_byte_order_mark_loads(project: Path):
    """Windows PowerShell 5's ``Set-Content -Encoding utf8`` writes one; the first name must still count."""
    (project / ".env").write_bytes(b"\xef\xbb\xbf" + f"OPENAI_API_KEY={KEY}\nAPP_ENV=test\n".encode())
    loaded = load_settings()
    assert loaded.openai_api_key.get_secret_value() == KEY and loaded.app_env == "test"


@pytest.mark.parametrize("variable", ["ANTHROPIC_API_KEY", "DASHSCOPE_API_KEY", "DEEPSEEK_API_KEY"])
def test_an_optional_key_left_as_the_template_placeholder_is_not_set(
        project: Path, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    # A .env copied from .env.example, with only the required key filled in, must load.
    template = dotenv_values(REPO / ".env.example")
    write(project / ".env", OPENAI_API_KEY=KEY, **{variable: str(template[variable])})
    assert getattr(load_settings(), variable.lower()) is None


def test_the_required_key_left_as_the_placeholder_says_to_put_your_key_there(project: Path) -> None:
    template = dotenv_values(REPO / ".env.example")
    write(project / ".env", OPENAI_API_KEY=str(template["OPENAI_API_KEY"]))
    [problem] = error_of(load_settings).problems
    assert problem.variable == "OPENAI_API_KEY" and "placeholder" in problem.problem
    assert "put your own key after OPENAI_API_KEY=" in problem.hint


def test_a_problem_ending_in_a_question_mark_gets_no_second_stop() -> None:
    text = str(Problem("DEFAULT_MODEL", "a key on the wrong line?", "move it"))
    assert text == "DEFAULT_MODEL: a key on the wrong line? Fix: move it."
    assert str(Problem("X", "is missing", "set it")) == "X: is missing. Fix: set it."
    assert str(Problem("X", "is not a number.", "set it")) == "X: is not a number. Fix: set it."
    assert str(Problem("X", "is far too long!", "set it")) == "X: is far too long! Fix: set it."


# --- exact texts: what a learner reads (each pinned, so a changed word is noticed) ----------------

def test_the_error_counts_its_problems_and_names_app_env_and_every_file_read(project: Path):
    write(project / ".env", MAX_TOKENS="0")
    write(project / ".env.dev", TEMPERATURE="3")
    err = error_of(load_settings)
    assert (err.app_env, err.files) == ("dev", (".env", ".env.dev"))
    assert str(err) == (
        "3 settings missing or invalid (APP_ENV=dev; .env files read: .env, .env.dev):\n"
        "  - OPENAI_API_KEY: is missing. Fix: set OPENAI_API_KEY in the environment, in .env or .env.dev "
        "(see .env.example), or as a secret file.\n"
        "  - MAX_TOKENS: Input should be greater than 0. Fix: use a positive whole number, "
        "e.g. MAX_TOKENS=2000.\n"
        "  - TEMPERATURE: Input should be less than or equal to 2. Fix: use a number from 0 to 2, "
        "e.g. TEMPERATURE=0.7.")


def test_one_problem_is_a_setting_not_settings_and_no_file_read_says_none(project: Path):
    err = error_of(load_settings, "test")
    assert (err.app_env, err.files) == ("test", ())
    assert str(err).splitlines()[0] == "1 setting missing or invalid (APP_ENV=test; .env files read: none):"


def test_two_problems_are_two_settings_one_per_line():
    problems = [Problem("A", "is missing", "set A"), Problem("B", "is missing", "set B")]
    err = SettingsError(problems, app_env="dev")
    assert str(err).splitlines() == ["2 settings missing or invalid (APP_ENV=dev; .env files read: none):",
                                     "  - A: is missing. Fix: set A.", "  - B: is missing. Fix: set B."]


def test_an_error_raised_before_app_env_is_known_names_no_environment():
    err = SettingsError([Problem("APP_ENV", "is not one of dev, test, prod", "use one of dev, test, prod")])
    assert (err.app_env, err.files) == (None, ())
    assert str(err) == ("1 setting missing or invalid:\n"
                        "  - APP_ENV: is not one of dev, test, prod. Fix: use one of dev, test, prod.")


def test_a_missing_key_in_prod_is_told_to_come_from_the_environment_or_the_secrets_folder(project: Path):
    [problem] = error_of(load_settings, "prod").problems
    assert problem == Problem("OPENAI_API_KEY", "is missing", "prod reads no .env file: set OPENAI_API_KEY "
                              "in the environment or as a file in the secrets folder")


def test_a_dirty_key_is_told_to_be_pasted_again_alone(project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY + " ")
    [problem] = error_of(load_settings).problems
    assert problem.problem == "; ".join(diagnose_key(KEY + " "))
    assert problem.hint == ("copy the key again and paste it alone, with nothing around it "
                            "(no spaces, no quotes)")


def test_our_validators_messages_lose_pydantics_value_error_prefix(
        project: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("DEFAULT_MODEL", DEV_KEY)
    [problem] = error_of(load_settings).problems
    assert problem.problem == ("holds something shaped like an API key (openai-project), which a text "
                               "setting would show in print(settings): a key pasted on the wrong line?")
    assert problem.hint == "use a model name, e.g. DEFAULT_MODEL=gpt-4o-mini"


def test_an_error_of_the_whole_model_is_reported_under_settings_with_the_template_as_hint():
    # A model-level validator (a subclass may add one) fails with no field in its location.
    whole_model = ValidationError.from_exception_data("AppSettings", [
        {"type": "value_error", "loc": (), "input": KEY, "ctx": {"error": ValueError("the keys disagree")}}])
    assert settings_module._problems(whole_model, "dev") == [
        Problem("settings", "the keys disagree", "compare with .env.example")]


def test_an_unreadable_env_file_is_a_problem_named_after_the_file_with_the_readers_advice(project: Path):
    (project / ".env").write_bytes(f"OPENAI_API_KEY={KEY}\n".encode("utf-16"))
    with pytest.raises(EnvFileError) as unreadable:
        read_env_file(project / ".env")
    advice = str(unreadable.value)
    assert advice.endswith(".")
    [problem] = error_of(load_settings, "test").problems
    assert problem == Problem(".env", "cannot be used as it is", advice[:-1])
    assert str(problem).endswith("instead of '>'.")  # one full stop, not two


def test_debug_log_lists_each_source_on_its_own_line_sorted_or_nothing(
        project: Path, monkeypatch: pytest.MonkeyPatch, caplog):
    write(project / ".env", OPENAI_API_KEY=KEY, MAX_TOKENS="5")
    monkeypatch.setenv("PYDANTIC_SETTINGS_DEBUG", "1")
    with caplog.at_level(logging.DEBUG, logger="pydantic_settings"):
        load_settings()
    [resolved] = [record.getMessage() for record in caplog.records if "Resolving" in record.getMessage()]
    assert resolved.splitlines() == [
        "Resolving settings for 'AppSettings' (variable names only, values hidden):",
        "  InitSettingsSource: APP_ENV", "  EnvSettingsSource: (nothing)",
        "  DotEnvSettingsSource: MAX_TOKENS, OPENAI_API_KEY", "  SecretsSettingsSource: (nothing)",
        "  DefaultSettingsSource: (nothing)"]


@pytest.mark.parametrize(("where", "variable"), [
    ("argument", "env argument"), ("environment", "APP_ENV"), (".env", "APP_ENV (in .env)")])
def test_an_unknown_app_env_is_named_where_it_was_set_with_the_three_choices(
        project: Path, monkeypatch: pytest.MonkeyPatch, where: str, variable: str):
    if where == "environment":
        monkeypatch.setenv("APP_ENV", "production")
    write(project / ".env", APP_ENV="production")
    [problem] = error_of(choose_env, "staging" if where == "argument" else None).problems
    assert problem == Problem(variable, "is not one of dev, test, prod", "use one of dev, test, prod")


def test_a_missing_secrets_folder_is_told_to_point_at_the_mounted_secrets(project: Path):
    [problem] = error_of(load_settings, secrets_dir=project / "nowhere").problems
    assert problem == Problem("secrets_dir argument", f"names {project / 'nowhere'}, which is not a folder",
                              "point it at the folder where the secrets are mounted")


def test_a_secret_file_that_is_not_utf8_is_told_how_to_write_it_again(project: Path):
    secrets = project / "secrets"
    secrets.mkdir()
    (secrets / "OPENAI_API_KEY").write_bytes(PROD_KEY.encode("utf-16"))
    [problem] = error_of(load_settings, "prod", secrets_dir=secrets).problems
    assert problem == Problem("OPENAI_API_KEY", "the secret file OPENAI_API_KEY is not UTF-8 text (saved as "
                              "UTF-16 or Latin-1?)",
                              "write the file again as UTF-8, e.g. printf '%s' \"$VALUE\" > FILE")


def test_search_from_chooses_app_env_and_files_wherever_the_working_directory_is(
        project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    write(project / ".env", APP_ENV="test", MAX_TOKENS="5")
    write(project / ".env.test", OPENAI_API_KEY=TEST_KEY)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "pyproject.toml").write_text("")  # a project root of its own: the search stops there
    write(elsewhere / ".env", OPENAI_API_KEY=DEV_KEY)
    monkeypatch.chdir(elsewhere)
    assert settings_files(search_from=project) == (project / ".env", project / ".env.test")
    loaded = load_settings(search_from=project)
    assert (loaded.app_env, loaded.max_tokens) == ("test", 5)
    assert loaded.openai_api_key.get_secret_value() == TEST_KEY


class WithSecretOrText(AppSettings):
    extra_token: SecretStr | str | None = None


def test_a_subclass_field_that_may_be_secret_takes_a_key_and_hides_it(
        project: Path, monkeypatch: pytest.MonkeyPatch):
    # pydantic 2 validates a str into the SecretStr of ``SecretStr | str``: print(settings) shows no key there
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("EXTRA_TOKEN", DEV_KEY)
    loaded = WithSecretOrText()
    assert isinstance(loaded.extra_token, SecretStr) and DEV_KEY not in repr(loaded)


# --- adversarial .env lines: unparsable, odd names, ${...}, unreadable secret files ----------------

@pytest.mark.parametrize(("text", "line"), [
    (f'OPENAI_API_KEY="{KEY}\n', 1),  # an unclosed quote
    (f"MAX_TOKENS=100\nOPENAI_API_KEY {KEY}\n", 2),  # '=' forgotten
    (f"OPENAI_API_KEY={KEY}\nMAX TOKENS=5\n", 2),  # a space in the name
], ids=["unclosed-quote", "no-equals", "space-in-name"])
@pytest.mark.parametrize("which", [".env", ".env.dev"])
def test_a_line_python_dotenv_cannot_parse_is_named_with_its_line_not_skipped(
        project: Path, text: str, line: int, which: str, exception_text, caplog):
    # On its own pydantic-settings skips the line (python-dotenv logs a warning): the key would be
    # reported missing, or MAX_TOKENS silently left at its default.
    (project / which).write_text(text)
    err = error_of(load_settings)
    assert [problem.variable for problem in err.problems] == [which]
    assert f"line {line}: python-dotenv cannot parse this" in str(err)
    assert err.__context__ is None and not holds_part_of(exception_text(err) + caplog.text, KEY)


@pytest.mark.parametrize("name", ["\u200bOPENAI_API_KEY", "OPENAI_API_KEY\u200b", "'OPENAI_API_KEY '"])
def test_a_key_under_a_name_with_an_invisible_character_is_named_not_reported_missing(
        project: Path, name: str, exception_text):
    (project / ".env").write_text(f"{name}={KEY}\n")
    err = error_of(load_settings)
    assert [problem.variable for problem in err.problems] == [".env"]
    assert "line 1: a variable name that holds" in str(err)
    assert not holds_part_of(exception_text(err), KEY)


def test_a_dollar_brace_in_a_secret_is_kept_as_written_like_load_env_does(
        project: Path, monkeypatch: pytest.MonkeyPatch):
    # python-dotenv expands ${...} even inside single quotes; pydantic-settings calls it with the
    # default interpolate=True. A password is data, not a template (helpers.env_files.load_env).
    monkeypatch.setenv("Zq", "expanded")
    key = KEY[:20] + "${Zq}" + KEY[20:]
    (project / ".env").write_text(f"OPENAI_API_KEY='{key}'\nDEFAULT_MODEL=${{OPENAI_API_KEY}}\n")
    loaded = load_settings()
    assert loaded.openai_api_key.get_secret_value() == key
    assert loaded.default_model == "${OPENAI_API_KEY}"  # not the key, which print(settings) would show


@pytest.mark.claims
def test_pydantic_settings_expands_dollar_braces_in_env_files_even_in_single_quotes(
        project: Path, monkeypatch: pytest.MonkeyPatch):
    """pydantic-settings 2.16.3 (sources/providers/dotenv.py) calls ``dotenv_values(file_path,
    encoding=...)``, whose ``interpolate`` defaults to True."""
    from pydantic_settings import BaseSettings

    class Plain(BaseSettings):
        openai_api_key: SecretStr

    monkeypatch.setenv("Zq", "expanded")
    (project / ".env").write_text(f"OPENAI_API_KEY='{KEY[:20]}${{Zq}}{KEY[20:]}'\n")
    loaded = Plain(_env_file=project / ".env")
    assert loaded.openai_api_key.get_secret_value() == KEY[:20] + "expanded" + KEY[20:]


def test_a_secret_file_that_cannot_be_read_is_a_settings_error_naming_it(
        project: Path, monkeypatch: pytest.MonkeyPatch):
    secrets = project / "secrets"
    secrets.mkdir()
    (secrets / "OPENAI_API_KEY").write_text(PROD_KEY)
    real_read_bytes = Path.read_bytes

    def refused(path: Path) -> bytes:  # as for a file of another user (root reads every file)
        if path.name == "OPENAI_API_KEY":
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refused)
    monkeypatch.setattr(Path, "read_text", lambda path, *a, **k: refused(path).decode())
    err = error_of(load_settings, "prod", secrets_dir=secrets)
    assert [problem.variable for problem in err.problems] == ["OPENAI_API_KEY"]
    assert "cannot be read" in err.problems[0].problem and err.__context__ is None


def test_app_env_in_lower_case_in_the_environment_is_honoured_as_pydantic_settings_does(
        project: Path, monkeypatch: pytest.MonkeyPatch):
    # case_sensitive=False: pydantic-settings reads app_env as APP_ENV; prod must then read no .env.
    write(project / ".env", OPENAI_API_KEY=DEV_KEY)
    monkeypatch.setenv("app_env", "prod")
    assert choose_env() == "prod" and settings_files() == ()
    assert [problem.variable for problem in error_of(load_settings).problems] == ["OPENAI_API_KEY"]


def test_app_env_in_lower_case_in_env_picks_the_layer(project: Path):
    write(project / ".env", OPENAI_API_KEY=DEV_KEY, app_env="test")
    write(project / ".env.test", OPENAI_API_KEY=TEST_KEY)
    loaded = load_settings()
    assert loaded.app_env == "test" and loaded.openai_api_key.get_secret_value() == TEST_KEY


def test_app_env_in_lower_case_set_to_prod_in_env_is_refused(project: Path):
    write(project / ".env", OPENAI_API_KEY=KEY, App_Env="prod")
    assert [problem.variable for problem in error_of(load_settings).problems] == ["APP_ENV"]


def test_an_env_file_that_breaks_after_the_check_is_named_with_nothing_on_the_chain(
        project: Path, monkeypatch: pytest.MonkeyPatch, exception_text):
    (project / ".env").write_text(f'OPENAI_API_KEY="{KEY}\n')  # an unclosed quote
    monkeypatch.setattr(settings_module, "_unreadable_files", lambda *_: [])  # as if it changed since
    err = error_of(load_settings)
    assert [problem.variable for problem in err.problems] == [".env"] and "line 1" in str(err)
    assert err.__context__ is None and not holds_part_of(exception_text(err), KEY)


class _ServedPipe:
    """A named pipe that serves `text` to each reader, as 1Password's environments serve ``.env``."""

    def __init__(self, path: Path, text: str) -> None:
        import threading

        os.mkfifo(path)
        self.path, self.text, self.stopped = path, text, False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import time

        while not self.stopped:
            with self.path.open("w") as pipe:  # waits for a reader
                if not self.stopped:
                    pipe.write(self.text)
            time.sleep(0.05)  # the reader sees the end of the text before the next open is served

    def stop(self) -> None:
        self.stopped = True
        while self.thread.is_alive():  # a reader that opens without waiting releases a waiting writer
            os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))
            self.thread.join(timeout=0.1)


def test_a_named_pipe_env_is_read_as_pydantic_settings_and_load_env_read_one(project: Path):
    # pydantic-settings 2.16.3 (_resolve_config_file(allow_fifo=True)) and helpers.env_files accept one.
    pipe = _ServedPipe(project / ".env", f"OPENAI_API_KEY={KEY}\nAPP_ENV=test\n")
    try:
        assert find_env_dir() == project and settings_files() == (project / ".env",)
        loaded = load_settings()
    finally:
        pipe.stop()
    assert loaded.openai_api_key.get_secret_value() == KEY and loaded.app_env == "test"


def test_each_env_file_is_loaded_once(project: Path, monkeypatch: pytest.MonkeyPatch, caplog):
    # pydantic-settings builds its own .env source before settings_customise_sources runs: handed
    # the files, it would read them too (as python-dotenv, expanding ${...}), and log each one twice.
    write(project / ".env", OPENAI_API_KEY=KEY)
    write(project / ".env.dev", MAX_TOKENS="5")
    monkeypatch.setenv("PYDANTIC_SETTINGS_DEBUG", "1")
    with caplog.at_level(logging.DEBUG, logger="pydantic_settings"):
        load_settings()
    loaded = [record.getMessage() for record in caplog.records if "Loading env file" in record.getMessage()]
    assert loaded == [f"Loading env file: {project / '.env'}", f"Loading env file: {project / '.env.dev'}"]


def test_app_settings_given_env_file_itself_still_reads_it(project: Path):
    write(project / ".env", OPENAI_API_KEY=KEY)
    assert AppSettings(_env_file=project / ".env").openai_api_key.get_secret_value() == KEY
