"""Typed application settings that cannot leak a key: `load_settings()` -> `AppSettings`.

The fields mirror ``.env.example``. For each variable, the first place that sets it wins::

    real environment variables  >  .env.<APP_ENV>  >  .env  >  secrets folder  >  defaults

* ``.env`` and ``.env.<APP_ENV>`` come from one folder: the nearest one holding either, from the
  working directory up to the project root (a folder with ``.git`` or ``pyproject.toml``). A
  notebook in ``notebooks/`` finds the project's files; a stray ``~/.env`` is never read.
* ``APP_ENV`` (dev, test or prod) is the ``env`` argument, else the environment, else ``.env``,
  else dev. ``prod`` reads no ``.env`` file: production keys come from the environment, mounted
  secret files or a secrets manager.
* The secrets folder (Docker/Kubernetes mounted secrets: one file per variable, named like it,
  e.g. ``/run/secrets/OPENAI_API_KEY``) is the ``secrets_dir`` argument, else ``$SECRETS_DIR``.

Keys are `SecretStr`. Any problem raises one `SettingsError` naming every bad variable (or file)
with a fix and holding no value (not in its message, its exception chain or `SettingsError.errors`):
a key pasted with whitespace, quotes or an invisible character (`helpers.key_hygiene.diagnose_key`);
a key pasted on the wrong line (``DEFAULT_MODEL=sk-...``: a text setting shaped like a key is
refused, so ``print(settings)`` can never show one); a ``.env`` file saved as UTF-16 or Latin-1 or
holding a NUL, or a line python-dotenv cannot parse (on its own it skips the line with a logged
warning); a secret file that cannot be read or is not UTF-8. ``.env`` files are read as written, as
`helpers.env_files.load_env` reads them: ``${NAME}`` is not expanded (python-dotenv would, even in
single quotes). ``PYDANTIC_SETTINGS_DEBUG=1`` logs which source gave each variable, never a value
(pydantic-settings' own debug log shows them all).

Needs: ``env_files.py``, ``key_hygiene.py``, ``key_formats.py``; pydantic-settings and python-dotenv
(``pip install pydantic-settings python-dotenv``).
"""

from __future__ import annotations

import logging
import os
import unicodedata
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

try:
    from pydantic import (
        Field,
        PositiveInt,
        SecretStr,
        StringConstraints,
        ValidationError,
        ValidationInfo,
        field_validator,
    )
    from pydantic_settings import (
        BaseSettings,
        DotEnvSettingsSource,
        PydanticBaseSettingsSource,
        SettingsConfigDict,
    )
    from pydantic_settings.exceptions import SettingsError as SettingsSourceError
    from pydantic_settings.sources.utils import parse_env_vars
except ImportError as missing:  # pragma: no cover - depends on the environment
    raise ImportError("helpers.settings needs pydantic-settings and python-dotenv: "
                      "pip install pydantic-settings python-dotenv") from missing

from .env_files import EnvFileError, folders_up_to_root, read_env_values
from .key_formats import find_keys
from .key_hygiene import diagnose_key, is_placeholder

StrPath = str | os.PathLike[str]
AppEnv = Literal["dev", "test", "prod"]
APP_ENVS: tuple[str, ...] = get_args(AppEnv)
KEY_FIELDS = ("openai_api_key", "anthropic_api_key", "dashscope_api_key", "deepseek_api_key")
SECRETS_DIR_VARIABLE = "SECRETS_DIR"
_DEBUG_LOGGER = logging.getLogger("pydantic_settings")
# The .env files of the `load_settings` call under way (None outside one). They reach the model's
# sources through this, not through _env_file: pydantic-settings builds its own .env source from
# _env_file before settings_customise_sources runs, and would read every file a second time.
_LOADING: ContextVar[tuple[Path, ...] | None] = ContextVar("_LOADING", default=None)

_HINTS = {
    "default_model": "use a model name, e.g. DEFAULT_MODEL=gpt-4o-mini",
    "max_tokens": "use a positive whole number, e.g. MAX_TOKENS=2000",
    "temperature": "use a number from 0 to 2, e.g. TEMPERATURE=0.7",
    "app_env": "use one of dev, test, prod",
    "tutorial_provider": "use mock (the fake provider, no key needed) or live",
}
_KEY_HINT = "copy the key again and paste it alone, with nothing around it (no spaces, no quotes)"
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # NUL and other controls, zero-width, BOM


def _is_plain_text(annotation: object) -> bool:
    """Whether a field holds free text that ``repr`` shows: ``str`` or ``str | None``, not a Literal."""
    return annotation is str or (str in get_args(annotation) and SecretStr not in get_args(annotation))


class _EnvFileAsWritten(DotEnvSettingsSource):
    """pydantic-settings' ``.env`` source, reading each file with `read_env_values`, as `load_env`
    reads it: ``${NAME}`` is kept as written (python-dotenv would expand it, even inside single
    quotes: a password changes, or ``DEFAULT_MODEL=${OPENAI_API_KEY}`` copies a key into a text
    setting), and a line python-dotenv cannot parse is an error, not a skipped line."""

    def _read_env_file(self, file_path: Path) -> Mapping[str, str | None]:
        # A private hook of pydantic-settings 2.16 (sources/providers/dotenv.py), as is _settings_log_debug.
        return parse_env_vars(read_env_values(file_path), self.case_sensitive, self.env_ignore_empty,
                              self.env_parse_none_str)


class AppSettings(BaseSettings):
    """The application's settings. Build it with `load_settings`, which layers the files.

    ``AppSettings()`` on its own reads real environment variables only (no file).
    """

    model_config = SettingsConfigDict(
        extra="ignore",  # a shared .env holds other tools' variables too
        hide_input_in_errors=True,  # no ``input_value='sk-...'`` in a ValidationError's message
        env_ignore_empty=True,  # ``ANTHROPIC_API_KEY=`` means "not set", not an empty key
        case_sensitive=False,
        frozen=True,
    )

    openai_api_key: SecretStr
    anthropic_api_key: SecretStr | None = None
    dashscope_api_key: SecretStr | None = None
    deepseek_api_key: SecretStr | None = None
    default_model: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = "gpt-4o-mini"
    max_tokens: PositiveInt = 2000
    temperature: float = Field(0.7, ge=0, le=2)
    app_env: AppEnv = "dev"
    tutorial_provider: Literal["mock", "live"] = "mock"

    @field_validator(*KEY_FIELDS, mode="before")
    @classmethod
    def _key_is_clean(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and info.field_name != "openai_api_key" and is_placeholder(value):
            return None  # an optional key left as in .env.example is not set, like an empty one
        findings = diagnose_key(value) if isinstance(value, str) else []
        if findings:
            raise ValueError("; ".join(findings))
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _text_is_not_a_key(cls, value: Any, info: ValidationInfo) -> Any:
        """A text setting (not a `SecretStr`) would be shown by ``print(settings)``: refuse one that
        holds a key shape (a key pasted on the wrong line) or an invisible character."""
        field = cls.model_fields.get(info.field_name or "")
        if not isinstance(value, str) or field is None or not _is_plain_text(field.annotation):
            return value
        keys = find_keys(value)
        if keys:
            raise ValueError(f"holds something shaped like an API key ({keys[0].format.name}), which a "
                             "text setting would show in print(settings): a key pasted on the wrong line?")
        odd = next((ch for ch in value if unicodedata.category(ch) in _INVISIBLE), None)
        if odd is not None:
            raise ValueError(f"holds an invisible character ({unicodedata.name(odd, f'U+{ord(odd):04X}')})")
        return value

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """pydantic-settings' sources in their order; in `load_settings`, its ``.env`` files are read
        by `_EnvFileAsWritten` (``AppSettings(_env_file=...)`` keeps pydantic-settings' own reader)."""
        files = _LOADING.get()
        if files is None:
            return init_settings, env_settings, dotenv_settings, file_secret_settings
        dotenv = _EnvFileAsWritten(settings_cls, env_file=files or None)
        return init_settings, env_settings, dotenv, file_secret_settings

    @classmethod
    def _settings_log_debug(cls, states: dict[str, dict[str, Any]]) -> None:
        # pydantic-settings logs every source's raw values (keys included) when
        # PYDANTIC_SETTINGS_DEBUG is set and DEBUG logging is on. This hook of theirs is
        # private; we override it to log which source gave which variable, and no value.
        lines = [f"Resolving settings for {cls.__name__!r} (variable names only, values hidden):"]
        for source, values in states.items():
            names = ", ".join(sorted(name.upper() for name in values)) or "(nothing)"
            # our .env source is pydantic-settings' own, reading files as written: logged under its name
            shown = "DotEnvSettingsSource" if source == _EnvFileAsWritten.__name__ else source
            lines.append(f"  {shown}: {names}")
        _DEBUG_LOGGER.debug("\n".join(lines))


@dataclass(frozen=True)
class Problem:
    """One missing or invalid variable: its environment name, what is wrong, how to fix it."""

    variable: str
    problem: str
    hint: str

    def __str__(self) -> str:
        stop = "" if self.problem.endswith((".", "?", "!")) else "."
        return f"{self.variable}: {self.problem}{stop} Fix: {self.hint}."


class SettingsError(Exception):
    """The settings could not be loaded. Lists every problem; never holds a value."""

    def __init__(self, problems: list[Problem], *, app_env: str | None = None,
                 files: tuple[str, ...] = ()) -> None:
        self.problems = problems
        self.app_env = app_env
        self.files = files
        read = ", ".join(files) if files else "none"
        where = f" (APP_ENV={app_env}; .env files read: {read})" if app_env else ""
        count = f"{len(problems)} setting" + ("s" if len(problems) > 1 else "")
        lines = [f"{count} missing or invalid{where}:"]
        lines += [f"  - {problem}" for problem in problems]
        super().__init__("\n".join(lines))

    def errors(self) -> list[dict[str, str]]:
        """The problems as dictionaries (``variable``, ``problem``, ``hint``): safe to log."""
        return [asdict(problem) for problem in self.problems]


def find_env_dir(start: StrPath | None = None) -> Path | None:
    """The nearest folder, from `start` (default: the working directory) upward, holding ``.env``
    or a ``.env.<dev|test|prod>`` file; None if there is none up to the project root.

    pydantic-settings' own ``env_file_depth`` looks for each file separately, so ``.env`` and
    ``.env.dev`` could come from two different folders, and it knows no project root.
    """
    names = [".env"] + [f".env.{name}" for name in APP_ENVS]
    folder = Path(start or Path.cwd()).resolve()
    for candidate in folders_up_to_root(folder):
        if any(_is_env_file(candidate / name) for name in names):
            return candidate
    return None


def choose_env(env: str | None = None, start: StrPath | None = None) -> AppEnv:
    """The environment to load: `env`, else ``$APP_ENV``, else ``APP_ENV`` in ``.env``, else dev."""
    if env is not None:
        return _checked_env(env, "env argument")
    from_environment = _app_env_of(os.environ)
    if from_environment:
        return _checked_env(from_environment, "APP_ENV")
    env_dir = find_env_dir(start)
    dotenv = env_dir / ".env" if env_dir else None
    from_file = _app_env_in(dotenv) if dotenv and _is_env_file(dotenv) else None
    if not from_file:
        return "dev"
    chosen = _checked_env(from_file, "APP_ENV (in .env)")
    if chosen == "prod":
        raise SettingsError([Problem("APP_ENV", "is set to prod in .env, but prod reads no .env file",
                                     "set APP_ENV=prod in the real environment of the production process")])
    return chosen


def _app_env_of(variables: Mapping[str, str | None]) -> str | None:
    """``APP_ENV`` in `variables`, its name in any case as pydantic-settings reads it here
    (``case_sensitive=False``), the exact name first; an empty value is unset (``env_ignore_empty``)."""
    other_cases = [value for name, value in variables.items() if name.upper() == "APP_ENV"]
    return next((value for value in [variables.get("APP_ENV"), *other_cases] if value), None)


def _app_env_in(dotenv: Path) -> str | None:
    try:
        return _app_env_of(read_env_values(dotenv))
    except EnvFileError as err:
        problem = _file_problem(err)
    raise SettingsError([problem])


def _file_problem(err: EnvFileError) -> Problem:
    """A ``.env`` file that cannot be read, as a problem named after the file (the error holds no value)."""
    return Problem(err.path.name, "cannot be used as it is", str(err).rstrip("."))


def _checked_env(raw: str, origin: str) -> AppEnv:
    value = raw.strip().lower()
    if value not in APP_ENVS:
        raise SettingsError([Problem(origin, "is not one of dev, test, prod", _HINTS["app_env"])])
    return value  # type: ignore[return-value]


def settings_files(env: str | None = None, *, search_from: StrPath | None = None) -> tuple[Path, ...]:
    """The ``.env`` files `load_settings` would read, lowest priority first (none in prod)."""
    app_env = choose_env(env, search_from)
    if app_env == "prod":
        return ()
    env_dir = find_env_dir(search_from)
    if env_dir is None:
        return ()
    return tuple(path for path in (env_dir / ".env", env_dir / f".env.{app_env}") if _is_env_file(path))


def _is_env_file(path: Path) -> bool:
    """A file, or a named pipe as pydantic-settings and python-dotenv accept: secret managers
    (1Password's environments) mount ``.env`` as a FIFO they write on each open (`load_settings`
    opens it up to three times: for ``APP_ENV``, to check it, to load it)."""
    return path.is_file() or path.is_fifo()


def _secrets_folder(secrets_dir: StrPath | None) -> Path | None:
    origin = "secrets_dir argument" if secrets_dir is not None else SECRETS_DIR_VARIABLE
    chosen = secrets_dir if secrets_dir is not None else os.environ.get(SECRETS_DIR_VARIABLE)
    if not chosen:  # unset or empty: no secrets folder (not the working directory)
        return None
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        raise SettingsError([Problem(origin, f"names {folder}, which is not a folder",
                                     "point it at the folder where the secrets are mounted")])
    return folder


def load_settings(
    env: str | None = None,
    *,
    search_from: StrPath | None = None,
    secrets_dir: StrPath | None = None,
) -> AppSettings:
    """Load `AppSettings` from the environment, the ``.env`` files and the secrets folder.

    env:         dev, test or prod; overrides ``APP_ENV`` (see `choose_env`).
    search_from: folder where the upward search for ``.env`` files starts (default: working dir).
    secrets_dir: folder of mounted secret files (default: ``$SECRETS_DIR``, else none).

    Raises `SettingsError` listing every missing or invalid variable, without any value.
    """
    app_env = choose_env(env, search_from)
    files = settings_files(app_env, search_from=search_from)
    folder = _secrets_folder(secrets_dir)
    problems = _unreadable_files(files, folder)
    if not problems:
        try:
            return _build(app_env, files, folder)
        except ValidationError as exc:
            problems = _problems(exc, app_env)
        except EnvFileError as err:  # a .env file changed since we checked it (the error holds no value)
            problems = [_file_problem(err)]
        except (SettingsSourceError, UnicodeDecodeError):  # a file changed since we checked it:
            # the chained UnicodeDecodeError would hold the file's bytes, so none of it is kept
            problems = [Problem("settings files", "a file changed while loading and is not UTF-8 text",
                                "save the .env and secret files as UTF-8 and load again")]
    # Raised outside the except block on purpose: `raise ... from None` would only hide the
    # ValidationError from the printed traceback. It would stay reachable as __context__,
    # whose .errors() holds every raw input value.
    raise SettingsError(problems, app_env=app_env, files=tuple(path.name for path in files))


def _build(app_env: AppEnv, files: tuple[Path, ...], secrets: Path | None) -> AppSettings:
    loading = _LOADING.set(files)
    try:
        return AppSettings(app_env=app_env, _secrets_dir=secrets)
    finally:
        _LOADING.reset(loading)


def _unreadable_files(files: tuple[Path, ...], secrets: Path | None) -> list[Problem]:
    """Problems with the files pydantic-settings would read: a ``.env`` file that `read_env_values`
    refuses (UTF-16, Latin-1, a NUL, a line that does not parse, a name with an invisible character),
    a secret file that cannot be read or is not UTF-8 (pydantic-settings 2.16 reads it with
    ``read_text(encoding='utf-8')`` and its UnicodeDecodeError would carry the whole file)."""
    problems = []
    for path in files:
        try:
            read_env_values(path)
        except EnvFileError as err:
            problems.append(_file_problem(err))
    variables = {name.upper() for name in AppSettings.model_fields}
    for path in sorted(secrets.iterdir()) if secrets else ():
        if path.name.upper() in variables and path.is_file():
            problems += _secret_file_problems(path)
    return problems


def _secret_file_problems(path: Path) -> list[Problem]:
    try:
        data = path.read_bytes()
    except OSError as err:
        return [Problem(path.name.upper(), f"the secret file {path.name} cannot be read ({err.strerror})",
                        "let the user running the app read it, e.g. chmod 400 and the right owner")]
    if _is_utf8(data):
        return []
    return [Problem(path.name.upper(), f"the secret file {path.name} is not UTF-8 text (saved as UTF-16 "
                    "or Latin-1?)", "write the file again as UTF-8, e.g. printf '%s' \"$VALUE\" > FILE")]


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")  # pragma: no mutate (codec names ignore case: "UTF-8" is the same codec)
    except UnicodeDecodeError:
        return False
    return True


def _problems(exc: ValidationError, app_env: str) -> list[Problem]:
    problems = []
    # No mutation here: only loc, msg and type are read, so leaving input, url or context in shows nothing.
    for err in exc.errors(include_input=False, include_url=False, include_context=False):  # pragma: no mutate
        field = str(err["loc"][0]) if err["loc"] else ""
        message = str(err["msg"]).removeprefix("Value error, ")  # our validators' own messages
        problem = "is missing" if err["type"] == "missing" else message
        problems.append(Problem(field.upper() or "settings", problem, _hint(field, err, app_env)))
    return problems


def _hint(field: str, error: Mapping[str, Any], app_env: str) -> str:
    if field not in KEY_FIELDS:
        return _HINTS.get(field, "compare with .env.example")
    if error["type"] != "missing":
        if "placeholder" in str(error["msg"]):
            return f"put your own key after {field.upper()}= (it still holds the template's placeholder)"
        return _KEY_HINT
    name = field.upper()
    if app_env == "prod":
        return f"prod reads no .env file: set {name} in the environment or as a file in the secrets folder"
    return f"set {name} in the environment, in .env or .env.{app_env} (see .env.example), or as a secret file"


__all__ = ["APP_ENVS", "AppSettings", "Problem", "SettingsError", "choose_env", "find_env_dir",
           "load_settings", "settings_files"]
