"""Tests for helpers.secret_store and helpers.aws_secret_store: every store, the AWS cache and its
errors, values and names a store refuses, concurrency under an outage, logging, and a rotation end to end.

AWS Secrets Manager is moto (in process); throttling and access denied come from botocore's Stubber,
an unreachable endpoint from a ``before-send`` hook, a hung one from a real socket on 127.0.0.1
(`benchmarks.secret_store.HangingSecretsManager`). Time is a fake clock: nothing sleeps.
"""

from __future__ import annotations

import codecs
import io
import json
import logging
import subprocess
import sys
import threading
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import boto3
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from benchmarks.secret_store import HangingSecretsManager
from helpers.aws_secret_store import DEFAULT_CLIENT_CONFIG
from helpers.key_formats import fake_key, fingerprint
from helpers.mock_provider import FakeProvider
from helpers.redaction import install_redaction, uninstall_redaction
from helpers.secret_store import (
    AWSSecretsManagerStore,
    ChainStore,
    EnvStore,
    FileStore,
    RefreshableStore,
    SecretAccessDeniedError,
    SecretFormatError,
    SecretNotFoundError,
    SecretStore,
    SecretStoreError,
    SecretStoreUnavailableError,
    api_key_from,
    call_with_key_refresh,
)
from tutorial.clock import FakeClock

SECRET_ID = "prod/llm-app"
# Characters a secret may hold: anything but controls (except tab and line breaks), invisible format
# characters, odd spaces and typographic quotes, which the stores refuse (see `refuse_unwanted_characters`)
PLAIN_CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Zs"),
                                 exclude_characters="\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f"
                                                    "\u2039\u203a\u00ab\u00bb", include_characters=" \t\n")
NAME_CHARACTERS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
OLD_KEY = fake_key("openai-project", 1)
NEW_KEY = fake_key("openai-project", 2)
ANTHROPIC_KEY = fake_key("anthropic", 1)


@pytest.fixture
def aws(monkeypatch):
    """A boto3 Secrets Manager client against moto, with fake credentials and no retries of its own."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FAKEACCESSKEYEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "FAKE-secret-access-key-EXAMPLE")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("secretsmanager", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def clock():
    return FakeClock()


def holds_part_of(text: str, key: str, size: int = 8) -> bool:
    """Whether `size` characters in a row of the key's random part are in `text`."""
    body = key[len("sk-proj-FAKE"):]
    return any(body[i:i + size] in text for i in range(len(body) - size + 1))


def create(client, fields, secret_id=SECRET_ID):
    client.create_secret(Name=secret_id, SecretString=json.dumps(fields))


def count_calls(client) -> list[str]:
    """A list that grows by one for each GetSecretValue call the client makes."""
    calls: list[str] = []
    client.meta.events.register("before-call.secrets-manager.GetSecretValue",
                                lambda **_: calls.append("GetSecretValue"))
    return calls


def stubbed(client, *errors: str, then: dict | None = None) -> Stubber:
    """A Stubber answering GetSecretValue with the given error codes, then (optionally) a success."""
    stubber = Stubber(client)
    for code in errors:
        stubber.add_client_error("get_secret_value", service_error_code=code,
                                 service_message=f"simulated {code}", http_status_code=400)
    if then is not None:
        stubber.add_response("get_secret_value", {
            "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{SECRET_ID}-AbCdEf",
            "Name": SECRET_ID, "VersionId": "v" * 32, "SecretString": json.dumps(then),
            "VersionStages": ["AWSCURRENT"], "CreatedDate": datetime(2026, 1, 1, tzinfo=UTC)})
    stubber.activate()
    return stubber


def unreachable(client) -> None:
    """From now on every GetSecretValue fails as if the network to AWS were down."""
    def refuse(**_):
        raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")
    client.meta.events.register_first("before-send.secrets-manager.GetSecretValue", refuse)


# -- EnvStore ----------------------------------------------------------------------------------

def test_env_store_reads_the_upper_case_variable_and_strips_it():
    store = EnvStore({"OPENAI_API_KEY": f"  {OLD_KEY}\n"})
    assert store.get("openai_api_key") == OLD_KEY


def test_env_store_prefix_and_default_environment(monkeypatch):
    monkeypatch.setenv("MYAPP_OPENAI_API_KEY", OLD_KEY)
    assert EnvStore(prefix="myapp_").get("openai_api_key") == OLD_KEY


@pytest.mark.parametrize("environ", [{}, {"OPENAI_API_KEY": ""}, {"OPENAI_API_KEY": "  \n"}])
def test_env_store_missing_or_empty_is_not_found_and_names_the_variable(environ):
    with pytest.raises(SecretNotFoundError, match="OPENAI_API_KEY"):
        EnvStore(environ).get("openai_api_key")


# -- FileStore ---------------------------------------------------------------------------------

def test_file_store_reads_one_file_per_name_stripped(tmp_path):
    (tmp_path / "openai_api_key").write_text(OLD_KEY + "\n")
    assert FileStore(tmp_path).get("openai_api_key") == OLD_KEY


def test_file_store_missing_and_empty_files_are_not_found(tmp_path):
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SecretNotFoundError, match="'absent'"):
        FileStore(tmp_path).get("absent")
    with pytest.raises(SecretNotFoundError, match="empty"):
        FileStore(tmp_path).get("empty")


@pytest.mark.parametrize("name", ["../outside", "a/b", ".hidden", "..data", "", "out\x00side"])
def test_file_store_refuses_names_that_leave_the_directory(tmp_path, name):
    (tmp_path / "outside").write_text(OLD_KEY)
    with pytest.raises(SecretNotFoundError, match="is not a valid secret"):
        FileStore(tmp_path / "secrets").get(name)


def test_file_store_sees_a_kubernetes_style_update_without_restart(tmp_path):
    """Kubernetes writes a new timestamped folder and swaps the ``..data`` symlink atomically."""
    def publish(version: str, key: str) -> None:
        folder = tmp_path / f"..{version}"
        folder.mkdir()
        (folder / "openai_api_key").write_text(key)
        (tmp_path / "..data_tmp").symlink_to(folder.name)
        (tmp_path / "..data_tmp").replace(tmp_path / "..data")

    publish("v1", OLD_KEY)
    (tmp_path / "openai_api_key").symlink_to("..data/openai_api_key")
    store = FileStore(tmp_path)
    assert store.get("openai_api_key") == OLD_KEY
    publish("v2", NEW_KEY)
    assert store.get("openai_api_key") == NEW_KEY


@pytest.mark.parametrize("data", [
    OLD_KEY.encode("latin-1") + "\u00e9".encode("latin-1"),  # Latin-1: not UTF-8, no byte-order mark
    codecs.BOM_UTF16_LE + OLD_KEY.encode("utf-16-le")[:-1],  # a UTF-16 file cut in the middle of a character
    b"\x80" + OLD_KEY.encode(),
], ids=["latin-1", "broken-utf-16", "binary"])
def test_a_secret_file_that_is_not_text_is_a_format_error_with_nothing_on_its_chain(
        tmp_path, data, exception_text):
    (tmp_path / "blob").write_bytes(data)
    with pytest.raises(SecretFormatError, match="'blob' is not text") as err:
        FileStore(tmp_path).get("blob")
    assert not holds_part_of(exception_text(err.value), OLD_KEY)
    assert err.value.__context__ is None and err.value.__cause__ is None


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_secret_file_with_a_byte_order_mark_is_decoded_and_the_mark_dropped(tmp_path, encoding):
    """Windows PowerShell 5's ``echo $key > file`` writes UTF-16 LE with a byte-order mark."""
    text = OLD_KEY + "\r\n"
    marks = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}  # these codecs write none
    (tmp_path / "openai_api_key").write_bytes(marks.get(encoding, b"") + text.encode(encoding))
    assert FileStore(tmp_path).get("openai_api_key") == OLD_KEY


def test_a_utf16_file_without_a_byte_order_mark_is_refused_for_its_nul_characters(tmp_path, exception_text):
    (tmp_path / "openai_api_key").write_bytes(OLD_KEY.encode("utf-16-le"))
    with pytest.raises(SecretFormatError, match="invisible or typographic character") as err:
        FileStore(tmp_path).get("openai_api_key")
    assert not holds_part_of(exception_text(err.value), OLD_KEY)


@settings(max_examples=30)
@given(value=st.text(PLAIN_CHARACTERS, min_size=1))
def test_file_store_round_trips_any_value_stripped(value, tmp_path_factory):
    folder = tmp_path_factory.mktemp("secrets")
    (folder / "token").write_text(value, encoding="utf-8", newline="")
    if value.strip():
        assert FileStore(folder).get("token") == value.strip()
    else:
        with pytest.raises(SecretNotFoundError):
            FileStore(folder).get("token")


# -- AWSSecretsManagerStore: reading and caching -------------------------------------------------

def test_aws_store_returns_one_field_of_the_json_secret(aws):
    create(aws, {"openai_api_key": OLD_KEY, "anthropic_api_key": ANTHROPIC_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws)
    assert store.get("openai_api_key") == OLD_KEY
    assert store.get("anthropic_api_key") == ANTHROPIC_KEY


def test_aws_store_makes_one_call_per_ttl(aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    calls = count_calls(aws)
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, ttl=300, clock=clock)
    for _ in range(100):
        store.get("openai_api_key")
        clock.advance(1)
    assert len(calls) == 1  # t = 0..99 s: all inside the first 300 s
    clock.advance(201)  # 300 s after the first read
    store.get("openai_api_key")
    assert len(calls) == 2


def test_aws_store_serves_the_cache_until_the_ttl_then_picks_up_a_new_value(aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, ttl=60, clock=clock)
    assert store.get("openai_api_key") == OLD_KEY
    aws.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({"openai_api_key": NEW_KEY}))
    clock.advance(59)
    assert store.get("openai_api_key") == OLD_KEY
    clock.advance(1)
    assert store.get("openai_api_key") == NEW_KEY


def test_refresh_re_reads_at_once(aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    calls = count_calls(aws)
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, ttl=300, clock=clock)
    store.get("openai_api_key")
    aws.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({"openai_api_key": NEW_KEY}))
    store.refresh()
    assert store.get("openai_api_key") == NEW_KEY
    assert len(calls) == 2


def test_aws_store_reads_the_awscurrent_stage_not_a_staged_one(aws):
    create(aws, {"openai_api_key": OLD_KEY})
    aws.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({"openai_api_key": NEW_KEY}),
                         VersionStages=["AWSPENDING"])
    assert AWSSecretsManagerStore(SECRET_ID, client=aws).get("openai_api_key") == OLD_KEY
    pending = AWSSecretsManagerStore(SECRET_ID, client=aws, version_stage="AWSPENDING")
    assert pending.get("openai_api_key") == NEW_KEY


class CountingClient:
    """A stand-in for the boto3 client that serves a fixed secret and counts calls (no moto: fast)."""

    def __init__(self, fields: dict) -> None:
        self.secret_string, self.calls = json.dumps(fields), 0

    def get_secret_value(self, **_):
        self.calls += 1
        return {"SecretString": self.secret_string, "VersionId": f"v{self.calls}"}


@settings(max_examples=50)
@given(ttl=st.integers(0, 100), steps=st.lists(st.integers(0, 150), max_size=30))
def test_aws_store_calls_aws_exactly_when_the_cached_copy_is_ttl_old(ttl, steps):
    client, clock = CountingClient({"k": "v"}), FakeClock()
    store = AWSSecretsManagerStore(SECRET_ID, client=client, ttl=ttl, clock=clock)
    store.get("k")
    expected, fetched_at = 1, clock.now
    for step in steps:
        clock.advance(step)
        store.get("k")
        if clock.now - fetched_at >= ttl:
            expected, fetched_at = expected + 1, clock.now
    assert client.calls == expected


@settings(max_examples=50)
@given(fields=st.dictionaries(st.text(NAME_CHARACTERS, min_size=1, max_size=20),
                              st.text(PLAIN_CHARACTERS, min_size=8).map(lambda s: f"sk-FAKE-{s}"),
                              max_size=5),
       missing=st.text(NAME_CHARACTERS, min_size=1, max_size=20))
def test_aws_store_returns_every_field_and_never_shows_a_value_in_errors(fields, missing):
    store = AWSSecretsManagerStore(SECRET_ID, client=CountingClient(fields))
    for name, value in fields.items():
        assert store.get(name) == value
    if missing not in fields:
        with pytest.raises(SecretNotFoundError) as err:
            store.get(missing)
        assert not any(value in str(err.value) for value in fields.values())


# -- AWSSecretsManagerStore: errors ------------------------------------------------------------

def test_missing_secret_names_the_secret_and_the_field(aws):
    with pytest.raises(SecretNotFoundError) as err:
        AWSSecretsManagerStore("prod/absent", client=aws).get("openai_api_key")
    assert "'prod/absent'" in str(err.value) and "'openai_api_key'" in str(err.value)


def test_missing_field_names_it_and_hints_at_case(aws):
    create(aws, {"OPENAI_API_KEY": OLD_KEY})
    with pytest.raises(SecretNotFoundError, match="did you mean 'OPENAI_API_KEY'") as err:
        AWSSecretsManagerStore(SECRET_ID, client=aws).get("openai_api_key")
    assert SECRET_ID in str(err.value) and OLD_KEY not in str(err.value)


@pytest.mark.parametrize(("secret_string", "expected"), [
    (OLD_KEY, "not JSON"), ('{"openai_api_key": "' + OLD_KEY, "not JSON"),
    (json.dumps([OLD_KEY]), "JSON list"), ('"text"', "JSON str"), ("null", "JSON NoneType"),
])
def test_a_secret_that_is_not_a_json_object_is_a_format_error_with_nothing_on_its_chain(
        aws, secret_string, expected, exception_text):
    """A plaintext secret (the console's "Plaintext" tab) is not JSON: a JSONDecodeError's ``.doc``
    would be the key itself, so none may hang on the chain."""
    aws.create_secret(Name=SECRET_ID, SecretString=secret_string)
    with pytest.raises(SecretFormatError, match=expected) as err:
        AWSSecretsManagerStore(SECRET_ID, client=aws).get("openai_api_key")
    assert not holds_part_of(exception_text(err.value), OLD_KEY)
    assert err.value.__cause__ is None and err.value.__context__ is None


def test_binary_secret_and_non_string_field_are_format_errors(aws):
    aws.create_secret(Name="binary", SecretBinary=OLD_KEY.encode())
    with pytest.raises(SecretFormatError, match="binary"):
        AWSSecretsManagerStore("binary", client=aws).get("openai_api_key")
    create(aws, {"max_tokens": 512})
    with pytest.raises(SecretFormatError, match="'max_tokens' is a JSON int"):
        AWSSecretsManagerStore(SECRET_ID, client=aws).get("max_tokens")


def test_access_denied_is_its_own_error_and_is_not_retried(aws):
    stubber = stubbed(aws, "AccessDeniedException")
    sleeps: list[float] = []
    with pytest.raises(SecretAccessDeniedError, match="AccessDeniedException.*IAM policy") as err:
        AWSSecretsManagerStore(SECRET_ID, client=aws, sleep=sleeps.append).get("openai_api_key")
    assert SECRET_ID in str(err.value) and sleeps == []
    stubber.assert_no_pending_responses()


def test_missing_credentials_are_access_denied():
    class NoCredentials:
        def get_secret_value(self, **_):
            raise NoCredentialsError()
    with pytest.raises(SecretAccessDeniedError, match="no AWS credentials"):
        AWSSecretsManagerStore(SECRET_ID, client=NoCredentials()).get("openai_api_key")


def test_throttling_is_retried_with_growing_backoff_then_succeeds(aws):
    stubber = stubbed(aws, "ThrottlingException", "ThrottlingException", then={"openai_api_key": OLD_KEY})
    sleeps: list[float] = []
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, max_attempts=3, backoff=0.5, sleep=sleeps.append)
    assert store.get("openai_api_key") == OLD_KEY
    assert sleeps == [0.5, 1.0]
    stubber.assert_no_pending_responses()


def test_throttling_gives_up_after_max_attempts(aws):
    stubbed(aws, *["ThrottlingException"] * 4)
    sleeps: list[float] = []
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, max_attempts=4, backoff=0.1, sleep=sleeps.append)
    with pytest.raises(SecretStoreUnavailableError, match="ThrottlingException 4 times") as err:
        store.get("openai_api_key")
    assert SECRET_ID in str(err.value) and sleeps == pytest.approx([0.1, 0.2, 0.4])


def test_an_unknown_aws_error_is_a_store_error_naming_its_code(aws):
    stubbed(aws, "InvalidRequestException")
    with pytest.raises(SecretStoreError, match="InvalidRequestException"):
        AWSSecretsManagerStore(SECRET_ID, client=aws).get("openai_api_key")


def test_unreachable_with_nothing_cached_raises(aws):
    create(aws, {"openai_api_key": OLD_KEY})
    unreachable(aws)
    with pytest.raises(SecretStoreUnavailableError, match="unreachable: EndpointConnectionError"):
        AWSSecretsManagerStore(SECRET_ID, client=aws).get("openai_api_key")


def test_unreachable_refresh_keeps_the_cached_value_and_warns_without_it(aws, clock, caplog):
    create(aws, {"openai_api_key": OLD_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, ttl=300, clock=clock)
    store.get("openai_api_key")
    unreachable(aws)
    clock.advance(10)
    with caplog.at_level(logging.WARNING, logger="helpers.secret_store"):
        store.refresh()
    assert store.get("openai_api_key") == OLD_KEY
    assert SECRET_ID in caplog.text and "EndpointConnectionError" in caplog.text
    assert OLD_KEY not in caplog.text


def test_unreachable_past_the_ttl_serves_stale_within_max_stale_and_backs_off(aws, clock, caplog):
    create(aws, {"openai_api_key": OLD_KEY})
    calls = count_calls(aws)
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, ttl=300, max_stale=600, retry_after=30,
                                   clock=clock)
    store.get("openai_api_key")
    unreachable(aws)
    clock.advance(300)
    with caplog.at_level(logging.WARNING, logger="helpers.secret_store"):
        assert store.get("openai_api_key") == OLD_KEY
    assert "cached 300 s ago" in caplog.text
    clock.advance(29)
    store.get("openai_api_key")
    assert len(calls) == 2  # the first read, one failed attempt; none during the 30 s back-off
    clock.advance(1)
    store.get("openai_api_key")
    assert len(calls) == 3
    clock.advance(571)  # 901 s old: past ttl + max_stale
    with pytest.raises(SecretStoreUnavailableError):
        store.get("openai_api_key")


def test_invalid_arguments_are_refused():
    with pytest.raises(ValueError, match="max_attempts"):
        AWSSecretsManagerStore(SECRET_ID, max_attempts=0)
    with pytest.raises(ValueError, match="at least one store"):
        ChainStore()


# -- ChainStore --------------------------------------------------------------------------------

def test_chain_store_first_store_with_the_name_wins(aws, tmp_path):
    create(aws, {"openai_api_key": NEW_KEY, "anthropic_api_key": ANTHROPIC_KEY})
    (tmp_path / "openai_api_key").write_text(OLD_KEY)
    chain = ChainStore(FileStore(tmp_path), AWSSecretsManagerStore(SECRET_ID, client=aws),
                       EnvStore({"DEEPSEEK_API_KEY": "sk-FAKE-deepseek"}))
    assert chain.get("openai_api_key") == OLD_KEY
    assert chain.get("anthropic_api_key") == ANTHROPIC_KEY
    assert chain.get("deepseek_api_key") == "sk-FAKE-deepseek"
    assert all(isinstance(store, SecretStore) for store in (*chain.stores, chain))
    assert all(isinstance(store, RefreshableStore) for store in (*chain.stores, chain))


def test_chain_store_miss_names_every_store_it_asked(tmp_path):
    chain = ChainStore(FileStore(tmp_path), EnvStore({}))
    with pytest.raises(SecretNotFoundError) as err:
        chain.get("openai_api_key")
    assert "FileStore" in str(err.value) and "OPENAI_API_KEY" in str(err.value)


def test_chain_store_does_not_fall_back_past_access_denied(aws):
    stubbed(aws, "AccessDeniedException")
    chain = ChainStore(AWSSecretsManagerStore(SECRET_ID, client=aws), EnvStore({"OPENAI_API_KEY": OLD_KEY}))
    with pytest.raises(SecretAccessDeniedError):
        chain.get("openai_api_key")


def test_chain_store_refresh_refreshes_its_stores(aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    chain = ChainStore(EnvStore({}), AWSSecretsManagerStore(SECRET_ID, client=aws, clock=clock))
    assert chain.get("openai_api_key") == OLD_KEY
    aws.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({"openai_api_key": NEW_KEY}))
    chain.refresh()
    assert chain.get("openai_api_key") == NEW_KEY


# -- the SDK recipe: a callable api_key, and a refresh on 401 ------------------------------------

def test_callable_api_key_reads_the_store_before_each_request(tmp_path):
    provider = FakeProvider({OLD_KEY: "ok", NEW_KEY: "ok"})
    (tmp_path / "openai_api_key").write_text(OLD_KEY)
    client = provider.client(api_key_from(FileStore(tmp_path), "openai_api_key"))
    client.models.list()
    (tmp_path / "openai_api_key").write_text(NEW_KEY)
    client.models.list()
    assert [r.key_fingerprint for r in provider.requests] == [fingerprint(OLD_KEY), fingerprint(NEW_KEY)]


def test_call_with_key_refresh_does_nothing_special_when_the_call_works(aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    calls = count_calls(aws)
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, clock=clock)
    client = FakeProvider({OLD_KEY: "ok"}).client(api_key_from(store, "openai_api_key"))
    assert call_with_key_refresh(store, "openai_api_key", client.models.list).data
    assert len(calls) == 1


def test_call_with_key_refresh_re_raises_a_401_when_the_key_did_not_change(aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, clock=clock)
    provider = FakeProvider({OLD_KEY: "invalid"})
    client = provider.client(api_key_from(store, "openai_api_key"))
    with pytest.raises(openai.AuthenticationError):
        call_with_key_refresh(store, "openai_api_key", client.models.list)
    assert len(provider.requests) == 1  # no second request with the same bad key


def test_call_with_key_refresh_leaves_other_errors_alone(aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    calls = count_calls(aws)
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, clock=clock)
    client = FakeProvider({OLD_KEY: "rate_limited"}).client(api_key_from(store, "openai_api_key"))
    with pytest.raises(openai.RateLimitError):
        call_with_key_refresh(store, "openai_api_key", client.models.list)
    assert len(calls) == 1  # no refresh for a 429


class Unauthorized(Exception):
    status_code = 401


def test_call_with_key_refresh_retries_when_the_ttl_ran_out_during_the_failed_call(aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, ttl=60, clock=clock)
    store.get("openai_api_key")
    aws.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({"openai_api_key": NEW_KEY}))
    clock.advance(59)
    sent: list[str] = []

    def call() -> str:
        sent.append(store.get("openai_api_key"))
        clock.advance(1)  # the TTL runs out while the request is in flight
        if sent[-1] != NEW_KEY:
            raise Unauthorized("401: revoked")
        return "ok"

    assert call_with_key_refresh(store, "openai_api_key", call) == "ok"
    assert sent == [OLD_KEY, NEW_KEY]


def test_zero_downtime_rotation_end_to_end(aws, clock, caplog):
    """Stage, accept both, promote, revoke: the app gets one 401, refreshes, and carries on."""
    create(aws, {"openai_api_key": OLD_KEY})
    provider = FakeProvider({OLD_KEY: "ok"})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, ttl=3600, clock=clock)
    client = provider.client(api_key_from(store, "openai_api_key"))
    assert client.models.list().data

    # 1. stage the new key as AWSPENDING, and 2. the provider accepts both keys
    staged = aws.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({"openai_api_key": NEW_KEY}),
                                  VersionStages=["AWSPENDING"])
    provider.set(NEW_KEY, "ok")
    # 3. promote: AWSCURRENT moves to the new version, the old one becomes AWSPREVIOUS
    old_version = store.version_id
    aws.update_secret_version_stage(SecretId=SECRET_ID, VersionStage="AWSCURRENT",
                                    MoveToVersionId=staged["VersionId"], RemoveFromVersionId=old_version)
    stages = aws.describe_secret(SecretId=SECRET_ID)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[staged["VersionId"]] and stages[old_version] == ["AWSPREVIOUS"]
    assert client.models.list().data  # still the cached old key, still accepted: no downtime
    # 4. revoke the old key: the next request gets a 401, the store refreshes, the retry succeeds
    provider.remove(OLD_KEY)
    with caplog.at_level(logging.WARNING, logger="helpers.secret_store"):
        assert call_with_key_refresh(store, "openai_api_key", client.models.list).data
    assert store.version_id == staged["VersionId"]
    assert [(r.key_fingerprint, r.status) for r in provider.requests] == [
        (fingerprint(OLD_KEY), 200), (fingerprint(OLD_KEY), 200),
        (fingerprint(OLD_KEY), 401), (fingerprint(NEW_KEY), 200)]
    assert "401" in caplog.text and OLD_KEY not in caplog.text and NEW_KEY not in caplog.text
    assert client.models.list().data  # and carries on


@pytest.mark.claims
def test_a_put_secret_value_rotation_moves_awsprevious(aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, clock=clock)
    store.get("openai_api_key")
    aws.put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps({"openai_api_key": NEW_KEY}))
    store.refresh()
    previous = AWSSecretsManagerStore(SECRET_ID, client=aws, version_stage="AWSPREVIOUS")
    assert (store.get("openai_api_key"), previous.get("openai_api_key")) == (NEW_KEY, OLD_KEY)


def test_reprs_name_the_store_and_nothing_secret():
    assert repr(FileStore(Path("/run/secrets"))) == "FileStore('/run/secrets')"
    assert repr(EnvStore(prefix="APP_")) == "EnvStore(prefix='APP_')"


# -- characters no secret is meant to hold, and names that cannot be one ---------------------------

UNWANTED = {"NUL": "\x00", "zero-width space": "\u200b", "byte-order mark": "\ufeff",
            "left double quote": "\u201c", "right single quote": "\u2019", "no-break space": "\u00a0",
            "escape": "\x1b", "line separator": "\u2028", "right-to-left mark": "\u200f"}


def stores_holding(value: str, folder: Path) -> list[SecretStore]:
    """The three stores, each holding `value` under the name ``token``."""
    (folder / "token").write_bytes(value.encode("utf-8"))
    environ = {"TOKEN": value} if "\x00" not in value else {"TOKEN": value}  # a Mapping may hold a NUL
    return [FileStore(folder), EnvStore(environ),
            AWSSecretsManagerStore(SECRET_ID, client=CountingClient({"token": value}))]  # type: ignore[arg-type]


@settings(max_examples=60)
@given(core=st.text(PLAIN_CHARACTERS, min_size=1, max_size=40).filter(lambda s: s.strip()),
       char=st.sampled_from(sorted(UNWANTED.values())), where=st.sampled_from(["start", "middle", "end"]))
def test_an_unwanted_character_is_never_kept_and_a_refusal_does_not_depend_on_the_value(
        tmp_path_factory, core, char, where, exception_text):
    """Each store either refuses the value, with a message that names the character and the secret and
    is the same whatever the value, or cleans it (whitespace such as a no-break space at either end is
    stripped; a file's leading byte-order mark is its encoding mark). It never returns the character."""
    def outcomes(value_core: str) -> list[str]:
        value = {"start": char + value_core, "middle": value_core + char + value_core,
                 "end": value_core + char}[where].strip(" \t\n\r")
        found = []
        for store in stores_holding(value, tmp_path_factory.mktemp("secrets")):
            try:
                returned = store.get("token")
            except SecretFormatError as err:
                assert "invisible or typographic character" in str(err)
                found.append(exception_text(err).replace(str(store), "<store>"))
            else:
                stripped = char.isspace() and where != "middle"
                file_mark = char == "\ufeff" and where == "start" and isinstance(store, FileStore)
                assert char not in returned and (stripped or file_mark)
                found.append("cleaned")
        return found
    assert outcomes(core) == outcomes("reference-value")


@pytest.mark.parametrize("name", sorted(UNWANTED), ids=sorted(UNWANTED))
def test_each_unwanted_character_is_named_in_the_message(tmp_path, name, exception_text):
    for store in stores_holding(f"{OLD_KEY}{UNWANTED[name]}x", tmp_path):
        with pytest.raises(SecretFormatError) as err:
            store.get("token")
        expected = unicodedata.name(UNWANTED[name], f"U+{ord(UNWANTED[name]):04X}")
        assert expected in str(err.value) and not holds_part_of(exception_text(err.value), OLD_KEY)


def test_letters_of_any_script_and_several_lines_are_fine(tmp_path):
    pem = "-----BEGIN KEY-----\nAbC\tdEf\r\n-----END KEY-----"
    for value in ("pässwörd-日本-ключ", pem):
        for store in stores_holding(value, tmp_path):
            assert store.get("token") == value.strip()


class EveryName:
    """A store that has every name, whatever it is: the end of a chain."""

    def get(self, name: str) -> str:
        return "from-the-last-store"


@pytest.mark.parametrize("name", ["open\x00ai_api_key", "\x00", "key\x1b[31m", ""])
def test_a_name_with_a_nul_or_control_character_is_not_found_in_every_store_and_the_chain_moves_on(
        tmp_path, name):
    client = CountingClient({"openai_api_key": OLD_KEY})
    stores = [FileStore(tmp_path), EnvStore({}), AWSSecretsManagerStore(SECRET_ID, client=client)]
    for store in stores:
        with pytest.raises(SecretNotFoundError, match="not a valid secret"):
            store.get(name)  # type: ignore[attr-defined]
    assert client.calls == 0
    assert ChainStore(*stores, EveryName()).get(name) == "from-the-last-store"  # type: ignore[arg-type]
    with pytest.raises(SecretNotFoundError, match="no store has"):
        ChainStore(*stores).get(name)  # type: ignore[arg-type]


# -- the cache's age limit ---------------------------------------------------------------------

class FlakyClient:
    """Serves a new value ("v1", "v2", ...) at each successful call; fails while `down` is True."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.down, self.served_at = clock, False, {}

    def get_secret_value(self, **_):
        if self.down:
            raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")
        value = f"v{len(self.served_at) + 1}"
        self.served_at[value] = self.clock.now
        return {"SecretString": json.dumps({"k": value}), "VersionId": value}


@settings(max_examples=150, deadline=None)
@given(ttl=st.integers(0, 50), max_stale=st.integers(0, 100), retry_after=st.integers(0, 200),
       steps=st.lists(st.tuples(st.integers(0, 120), st.booleans(), st.booleans()), min_size=1, max_size=40))
def test_no_value_is_ever_served_older_than_ttl_plus_max_stale_even_inside_a_back_off(
        ttl, max_stale, retry_after, steps):
    clock = FakeClock()
    client = FlakyClient(clock)
    store = AWSSecretsManagerStore(SECRET_ID, client=client, ttl=ttl, max_stale=max_stale,  # type: ignore[arg-type]
                                   retry_after=retry_after, clock=clock)
    logging.getLogger("helpers.aws_secret_store").disabled = True
    try:
        for advance, down, forced in steps:
            clock.advance(advance)
            client.down = down
            try:
                if forced:
                    store.refresh()
                value = store.get("k")
            except SecretStoreUnavailableError:
                assert down  # only an unreachable AWS with nothing young enough cached
                continue
            assert clock.now - client.served_at[value] <= ttl + max_stale
    finally:
        logging.getLogger("helpers.aws_secret_store").disabled = False


# -- concurrency: one thread reads AWS, the others are served at once ---------------------------

@pytest.fixture
def racing():
    """Threads switch as often as the interpreter allows (every bytecode or so): a real race."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def run_readers(store, count: int = 8, gets: int = 25) -> tuple[list[threading.Thread], list[str]]:
    """Start `count` threads each calling ``store.get`` `gets` times; returns them and what they got."""
    got: list[str] = []

    def reader() -> None:
        for _ in range(gets):
            got.append(store.get("openai_api_key"))

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, got


@pytest.mark.parametrize("trigger", ["the TTL runs out", "refresh()"])
def test_readers_are_served_from_the_cache_while_aws_hangs_on_a_real_socket(trigger, racing, caplog):
    """AWS accepts the connection, reads the request and never answers. The store's default client
    configuration is used; the refresh is stuck until the endpoint lets go. Eight readers must all be
    served from the cache while it is stuck: ordering, not timing, is asserted."""
    with HangingSecretsManager(json.dumps({"openai_api_key": OLD_KEY})) as endpoint:
        clock = FakeClock()
        store = AWSSecretsManagerStore(SECRET_ID, client=endpoint.client(DEFAULT_CLIENT_CONFIG), ttl=300,
                                       clock=clock)
        assert store.get("openai_api_key") == OLD_KEY  # the one answer: now cached
        if trigger == "the TTL runs out":
            clock.advance(301)
            refresher = threading.Thread(target=store.get, args=("openai_api_key",), daemon=True)
        else:
            refresher = threading.Thread(target=store.refresh, daemon=True)
        with caplog.at_level(logging.WARNING, logger="helpers.aws_secret_store"):
            refresher.start()
            assert endpoint.held.wait(timeout=30), "the refresh never reached the endpoint"
            readers, got = run_readers(store)
            for thread in readers:
                thread.join(timeout=30)
            assert not any(thread.is_alive() for thread in readers), "a reader waited for the refresh"
            assert refresher.is_alive() and endpoint.requests == 2  # still stuck; nobody else asked AWS
            assert got == [OLD_KEY] * 8 * 25
            endpoint.release()
            refresher.join(timeout=30)
        assert not refresher.is_alive()
    assert "failed (unreachable" in caplog.text and OLD_KEY not in caplog.text


class BlockingClient:
    """A client whose calls block until released, then fail as an unreachable endpoint does."""

    def __init__(self) -> None:
        self.calls, self.release = 0, threading.Event()

    def get_secret_value(self, **_):
        self.calls += 1
        self.release.wait(timeout=30)
        raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")


def wait_until(condition, what: str) -> None:
    for _ in range(3000):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"timed out waiting until {what}")


def test_with_nothing_cached_readers_wait_for_one_read_and_share_its_outage(racing):
    """Nothing to serve: the readers queue behind the one read in progress, and when it finds AWS
    unreachable they all fail with it instead of each trying (and hanging) in turn."""
    client = BlockingClient()
    store = AWSSecretsManagerStore(SECRET_ID, client=client)  # type: ignore[arg-type]
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            store.get("openai_api_key")
        except SecretStoreError as err:
            errors.append(err)

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    # seven threads wait on the store's condition (a CPython detail we only read), one is in the call
    wait_until(lambda: client.calls == 1 and len(store._read_done._waiters) == 7, "7 readers wait")  # type: ignore[attr-defined]
    client.release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert client.calls == 1 and len(errors) == 8
    assert all(isinstance(err, SecretStoreUnavailableError) and "EndpointConnectionError" in str(err)
               for err in errors)
    assert all(str(err).startswith(f"{WHERE}: AWS Secrets Manager could not be read") for err in errors)


def test_a_refresh_that_outlives_max_stale_does_not_serve_the_expired_value(aws, clock):
    """The age is checked again when the failed read ends: it may have hung past the limit."""
    create(aws, {"openai_api_key": OLD_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, ttl=300, max_stale=60, clock=clock)
    store.get("openai_api_key")
    clock.advance(350)  # within ttl + max_stale when the read starts

    def hang_then_fail(**_):
        clock.advance(20)  # 370 s old when the read gives up
        raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")

    aws.meta.events.register_first("before-send.secrets-manager.GetSecretValue", hang_then_fail)
    with pytest.raises(SecretStoreUnavailableError):
        store.get("openai_api_key")


# -- botocore's defaults, and ours ----------------------------------------------------------------

@pytest.mark.claims
def test_botocore_waits_minutes_on_a_hung_endpoint_by_default():
    """botocore 1.44: 60 s connect and read timeouts (endpoint.py DEFAULT_TIMEOUT), 3 attempts in
    standard retry mode (retries/standard.py DEFAULT_MAX_ATTEMPTS)."""
    from botocore.endpoint import DEFAULT_TIMEOUT
    from botocore.retries.standard import DEFAULT_MAX_ATTEMPTS
    client = boto3.client("secretsmanager", region_name="us-east-1", aws_access_key_id="FAKE",
                          aws_secret_access_key="FAKE")
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (DEFAULT_TIMEOUT, 60)
    assert DEFAULT_MAX_ATTEMPTS == 3 and client.meta.config.retries.get("mode", "standard") == "standard"


def test_the_default_client_gives_up_within_seconds(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    config = AWSSecretsManagerStore(SECRET_ID).client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 3)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}


def test_a_missing_boto3_says_what_to_install(tmp_path):
    """EnvStore and FileStore work without boto3; AWSSecretsManagerStore names the pip command."""
    script = ("import sys; sys.modules['boto3'] = None\n"
              "from helpers.secret_store import EnvStore, FileStore\n"
              "try:\n    from helpers.secret_store import AWSSecretsManagerStore\n"
              "except ImportError as err:\n    print(err)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert "pip install boto3" in done.stdout


# -- logging: what botocore writes at DEBUG, and what the store lets through ----------------------

@pytest.fixture
def debug_log():
    """Every record of every logger at DEBUG, formatted into a string, with redaction installed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    install_redaction()
    yield stream
    uninstall_redaction()
    root.removeHandler(handler)
    root.setLevel(level)


PASSWORD = "correct-horse-battery-staple-FAKE"  # no key shape: only value-based redaction finds it


@pytest.mark.claims
def test_botocore_logs_a_whole_secret_string_at_debug_even_with_redaction_installed(aws, debug_log):
    create(aws, {"db_password": PASSWORD})
    aws.get_secret_value(SecretId=SECRET_ID)  # a plain boto3 call: botocore.parsers logs the body
    assert PASSWORD in debug_log.getvalue() and "Response body" in debug_log.getvalue()


def test_the_store_hides_its_secret_bodies_from_botocores_debug_log(aws, debug_log):
    create(aws, {"db_password": PASSWORD, "openai_api_key": OLD_KEY})
    # botocore.endpoint logged the parameters of create_secret, the secret among them: start afresh
    debug_log.seek(0), debug_log.truncate()
    store = AWSSecretsManagerStore(SECRET_ID, client=aws)
    assert store.get("db_password") == PASSWORD
    text = debug_log.getvalue()
    assert "hidden by helpers.aws_secret_store" in text and "GetSecretValue" in text
    assert PASSWORD not in text and not holds_part_of(text, OLD_KEY)
    aws.describe_secret(SecretId=SECRET_ID)  # other calls of the same client still log their bodies
    assert '"Name": "prod/llm-app"' in debug_log.getvalue().replace('\\"', '"')


def test_on_secret_registers_every_value_with_redaction(aws, debug_log):
    create(aws, {"db_password": PASSWORD, "openai_api_key": OLD_KEY, "max_tokens": 512})
    debug_log.seek(0), debug_log.truncate()
    registered: list[str] = []

    def register(value: str) -> None:
        registered.append(value)
        install_redaction(secrets=[value])

    store = AWSSecretsManagerStore(SECRET_ID, client=aws, on_secret=register)
    password = store.get("db_password")
    logging.getLogger("app.db").info("connecting with password %s", password)
    assert sorted(registered) == sorted([PASSWORD, OLD_KEY])
    assert "connecting with password [REDACTED" in debug_log.getvalue()
    assert PASSWORD not in debug_log.getvalue()


def test_every_error_of_both_modules_derives_from_secret_store_error():
    import helpers.aws_secret_store as aws_module
    import helpers.secret_store as module
    errors = [value for source in (module, aws_module) for value in vars(source).values()
              if isinstance(value, type) and issubclass(value, Exception)
              and value.__module__ in (module.__name__, aws_module.__name__)]
    assert len(errors) >= 5 and all(issubclass(error, SecretStoreError) for error in errors)


@pytest.mark.claims
def test_moto_answers_a_read_without_a_stage_with_the_old_version_after_a_stage_move(aws):
    """Notebook 04's note, and why the store always asks for ``VersionStage`` explicitly: moto 5.2,
    unlike AWS, keeps serving the old version to a GetSecretValue without a stage after
    ``update_secret_version_stage`` moved AWSCURRENT."""
    aws.create_secret(Name=SECRET_ID, SecretString="old", ClientRequestToken="version-1-" + "0" * 23 + "1")
    staged = aws.put_secret_value(SecretId=SECRET_ID, SecretString="new", VersionStages=["AWSPENDING"])
    aws.update_secret_version_stage(SecretId=SECRET_ID, VersionStage="AWSCURRENT",
                                    MoveToVersionId=staged["VersionId"],
                                    RemoveFromVersionId="version-1-" + "0" * 23 + "1")
    assert aws.get_secret_value(SecretId=SECRET_ID)["SecretString"] == "old"
    assert aws.get_secret_value(SecretId=SECRET_ID, VersionStage="AWSCURRENT")["SecretString"] == "new"


# -- exact texts and small contracts of helpers.secret_store -------------------------------------

def test_an_unwanted_character_message_names_where_it_is_and_how_to_fix_it(tmp_path):
    (tmp_path / "token").write_text("abc\u200bdef")
    env = EnvStore({"APP_TOKEN": "abc\u200bdef"}, prefix="APP_")
    aws_store = AWSSecretsManagerStore(SECRET_ID, client=CountingClient({"token": "abc\u200bdef"}))  # type: ignore[arg-type]
    advice = ("holds an invisible or typographic character (ZERO WIDTH SPACE): copy the secret again "
              "as plain text (and save files as UTF-8)")
    with pytest.raises(SecretFormatError) as from_env:
        env.get("token")
    with pytest.raises(SecretFormatError) as from_file:
        FileStore(tmp_path).get("token")
    with pytest.raises(SecretFormatError) as from_aws:
        aws_store.get("token")
    assert str(from_env.value) == f"EnvStore(prefix='APP_'): environment variable APP_TOKEN {advice}"
    assert str(from_file.value) == f"FileStore({str(tmp_path)!r}): secret file 'token' {advice}"
    assert str(from_aws.value) == f"AWSSecretsManagerStore('prod/llm-app'): field 'token' {advice}"


def test_an_invalid_name_is_refused_by_a_message_naming_the_store(tmp_path):
    aws_store = AWSSecretsManagerStore(SECRET_ID, client=CountingClient({"a\x00b": "value"}))  # type: ignore[arg-type]
    for store in (EnvStore({}), FileStore(tmp_path), aws_store):
        with pytest.raises(SecretNotFoundError) as caught:
            store.get("a\x00b")
        assert str(caught.value) == f"{store!r}: 'a\\x00b' is not a valid secret name"


def test_file_store_refuses_a_backslash_even_where_such_a_file_exists(tmp_path):
    # On Linux "a\b" is one file name; on Windows the backslash would leave the directory.
    (tmp_path / "a\\b").write_text(OLD_KEY)
    with pytest.raises(SecretNotFoundError, match="is not a valid secret file name"):
        FileStore(tmp_path).get("a\\b")


def test_a_secret_file_that_is_not_text_says_which_encodings_are_read(tmp_path):
    (tmp_path / "token").write_bytes(b"\xff\xfe\xfd")
    with pytest.raises(SecretFormatError) as caught:
        FileStore(tmp_path).get("token")
    assert str(caught.value) == (f"FileStore({str(tmp_path)!r}): secret file 'token' is not text (UTF-8, or "
                                 "UTF-16/32 with a byte-order mark)")


def test_an_empty_chain_is_refused_by_name():
    with pytest.raises(ValueError) as caught:
        ChainStore()
    assert str(caught.value) == "ChainStore needs at least one store"


def test_a_chain_miss_lists_what_each_store_said_and_its_repr_lists_the_stores(tmp_path):
    chain = ChainStore(EnvStore({}), FileStore(tmp_path))
    assert repr(chain) == f"ChainStore(EnvStore(prefix=''), FileStore({str(tmp_path)!r}))"
    with pytest.raises(SecretNotFoundError) as caught:
        chain.get("token")
    assert str(caught.value) == (
        "no store has 'token': EnvStore(prefix=''): environment variable TOKEN is not set or empty; "
        f"FileStore({str(tmp_path)!r}): no secret file named 'token'")


class GetOnly:
    """A `SecretStore` that cannot be refreshed (it has no ``refresh``)."""

    def get(self, name: str) -> str:
        return "value"


def test_a_chain_refreshes_the_stores_that_can_and_skips_the_others(tmp_path):
    refreshed: list[str] = []
    file_store = FileStore(tmp_path)
    file_store.refresh = lambda: refreshed.append("file")  # type: ignore[method-assign]
    ChainStore(GetOnly(), file_store).refresh()
    assert refreshed == ["file"]


def test_call_with_key_refresh_passes_an_error_without_a_status_code_through_untouched():
    store = EnvStore({"TOKEN": "value"})

    def call() -> str:
        raise KeyError("not an HTTP error")

    with pytest.raises(KeyError, match="not an HTTP error"):
        call_with_key_refresh(store, "token", call)


def test_call_with_key_refresh_logs_which_store_and_name_it_retries(caplog):
    environ = {"TOKEN": OLD_KEY}
    store = EnvStore(environ)

    def call() -> str:
        if store.get("token") == OLD_KEY:
            environ["TOKEN"] = NEW_KEY  # rotated underneath us
            raise Unauthorized("401")
        return "ok"

    with caplog.at_level(logging.WARNING, logger="helpers.secret_store"):
        assert call_with_key_refresh(store, "token", call) == "ok"
    assert [record.getMessage() for record in caplog.records] == [
        "EnvStore(prefix=''): 'token' was refused with 401; retrying once with the refreshed key"]


@pytest.mark.parametrize("name", ["AWSSecretsManagerStore", "ACCESS_CODES", "DEFAULT_CLIENT_CONFIG",
                                  "TRANSIENT_CODES"])
def test_the_aws_names_are_importable_from_secret_store_as_the_aws_modules_own(name):
    import helpers.aws_secret_store
    import helpers.secret_store

    assert getattr(helpers.secret_store, name) is getattr(helpers.aws_secret_store, name)


def test_an_unknown_name_of_secret_store_is_an_attribute_error_naming_it():
    import helpers.secret_store

    with pytest.raises(AttributeError) as caught:
        helpers.secret_store.NoSuchStore  # noqa: B018
    assert str(caught.value) == "module 'helpers.secret_store' has no attribute 'NoSuchStore'"


# -- exact texts and small contracts of helpers.aws_secret_store ---------------------------------

WHERE = "AWSSecretsManagerStore('prod/llm-app'), field 'openai_api_key'"


class RaisingClient:
    """A client whose every GetSecretValue fails with the given botocore ClientError answer."""

    def __init__(self, error: dict) -> None:
        self.error = error

    def get_secret_value(self, **_):
        raise ClientError({"Error": self.error}, "GetSecretValue")


@pytest.mark.parametrize(("error", "expected"), [
    ({"Code": "AccessDeniedException"}, "access denied (AccessDeniedException); check the IAM policy "
                                        "(secretsmanager:GetSecretValue) and the KMS key policy"),
    ({"Code": "InvalidRequestException"}, "GetSecretValue failed with InvalidRequestException"),
    ({}, "GetSecretValue failed with an unknown error"),
], ids=["access-denied", "unknown-code", "no-code"])
def test_an_aws_error_message_names_the_store_the_field_and_what_to_check(error, expected):
    store = AWSSecretsManagerStore(SECRET_ID, client=RaisingClient(error))  # type: ignore[arg-type]
    with pytest.raises(SecretStoreError) as caught:
        store.get("openai_api_key")
    assert str(caught.value) == f"{WHERE}: {expected}"


@pytest.mark.parametrize(("secret_string", "expected"), [
    (None, "the secret is binary; store a JSON object as SecretString"),
    ("not json", "the secret is not JSON; store a JSON object of name/value pairs, "
                 'e.g. {"openai_api_key": "..."}'),
    ("[1]", "the secret is a JSON list, not an object"),
], ids=["binary", "not-json", "list"])
def test_a_secret_of_the_wrong_shape_is_named_with_the_field_asked_for(secret_string, expected):
    class Answering:
        def get_secret_value(self, **_):
            return {"SecretBinary": b"x"} if secret_string is None else {"SecretString": secret_string}

    with pytest.raises(SecretFormatError) as caught:
        AWSSecretsManagerStore(SECRET_ID, client=Answering()).get("openai_api_key")  # type: ignore[arg-type]
    assert str(caught.value) == f"{WHERE}: {expected}"


def test_a_failed_refresh_and_a_failed_re_read_after_the_ttl_say_which_they_were(aws, clock, caplog):
    create(aws, {"openai_api_key": OLD_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, ttl=300, clock=clock)
    store.get("openai_api_key")
    unreachable(aws)
    clock.advance(10)
    with caplog.at_level(logging.WARNING, logger="helpers.aws_secret_store"):
        store.refresh()
        clock.advance(300)
        store.get("openai_api_key")
    assert [record.getMessage() for record in caplog.records] == [
        "AWSSecretsManagerStore('prod/llm-app'): refresh failed (unreachable: EndpointConnectionError); "
        "serving the value cached 10 s ago",
        "AWSSecretsManagerStore('prod/llm-app'): re-reading after the TTL failed (unreachable: "
        "EndpointConnectionError); serving the value cached 310 s ago"]


class GatedClient(CountingClient):
    """A `CountingClient` whose call number `gate` waits until `release` is set."""

    def __init__(self, fields: dict, gate: int) -> None:
        super().__init__(fields)
        self.gate, self.entered, self.release = gate, threading.Event(), threading.Event()

    def get_secret_value(self, **kwargs):
        answer = super().get_secret_value(**kwargs)
        if self.calls == self.gate:
            self.entered.set()
            self.release.wait(timeout=30)
        return answer


def test_a_get_past_the_ttl_during_a_refresh_is_served_the_cache_not_a_second_read(clock):
    client = GatedClient({"openai_api_key": OLD_KEY}, gate=2)
    store = AWSSecretsManagerStore(SECRET_ID, client=client, ttl=60, clock=clock)  # type: ignore[arg-type]
    store.get("openai_api_key")
    clock.advance(61)
    refreshing = threading.Thread(target=store.refresh, daemon=True)
    refreshing.start()
    try:
        assert client.entered.wait(timeout=30)
        assert store.get("openai_api_key") == OLD_KEY
        assert client.calls == 2  # the refresh's read only
    finally:
        client.release.set()
        refreshing.join(timeout=30)


def test_the_body_filter_hides_bodies_only_inside_hiding_and_only_in_that_thread():
    from helpers.aws_secret_store import _HIDDEN_BODY, _SecretBodyFilter

    def body() -> logging.LogRecord:
        return logging.LogRecord("botocore.parsers", logging.DEBUG, __file__, 1, "Response body:\n%r",
                                 (PASSWORD,), None)

    body_filter, parsers = _SecretBodyFilter(), logging.getLogger("botocore.parsers")
    before, elsewhere, after = body(), body(), body()
    try:
        assert body_filter.filter(before) and before.getMessage().endswith(repr(PASSWORD))
        with body_filter.hiding():
            with body_filter.hiding():  # nested: leaving the inner one still hides
                pass
            inside, other = body(), logging.LogRecord("botocore.parsers", logging.DEBUG, __file__, 1,
                                                      "Event %s", ("before-call",), None)
            assert body_filter.filter(inside) and (inside.msg, inside.args) == (_HIDDEN_BODY, ())
            assert body_filter.filter(other) and other.getMessage() == "Event before-call"
            thread = threading.Thread(target=body_filter.filter, args=(elsewhere,))
            thread.start()
            thread.join()
        assert body_filter.filter(after)
        assert PASSWORD in elsewhere.getMessage() and PASSWORD in after.getMessage()
        assert parsers.filters.count(body_filter) == 1
    finally:
        parsers.removeFilter(body_filter)


def test_a_value_exactly_ttl_plus_max_stale_old_is_still_served_while_aws_is_down(aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, ttl=300, max_stale=60, clock=clock)
    store.get("openai_api_key")
    unreachable(aws)
    clock.advance(360)
    assert store.get("openai_api_key") == OLD_KEY
    clock.advance(1)
    with pytest.raises(SecretStoreUnavailableError):
        store.get("openai_api_key")


# -- what a caller of AWSSecretsManagerStore relies on, pinned exactly (issue 18) -------------------

REFUSED = "ttl and max_stale must be >= 0 and max_attempts >= 1"
UNREACHABLE = "AWS Secrets Manager could not be read (unreachable: EndpointConnectionError)"


def test_by_default_a_value_is_re_read_after_5_minutes_served_stale_for_an_hour_and_retried_every_30_s(
        aws, clock):
    create(aws, {"openai_api_key": OLD_KEY})
    calls = count_calls(aws)
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, clock=clock)
    store.get("openai_api_key")
    clock.advance(299)
    store.get("openai_api_key")
    assert len(calls) == 1
    clock.advance(1)  # 300 s: the TTL has run out
    store.get("openai_api_key")
    assert len(calls) == 2
    unreachable(aws)
    clock.advance(300)
    assert store.get("openai_api_key") == OLD_KEY  # the read fails: the cached value serves
    clock.advance(29)
    store.get("openai_api_key")
    assert len(calls) == 3  # within 30 s of the failure, AWS is not asked again
    clock.advance(1)
    store.get("openai_api_key")
    assert len(calls) == 4
    clock.advance(3570)  # the value is 300 + 3600 s old: the last second it may serve
    assert store.get("openai_api_key") == OLD_KEY
    clock.advance(1)
    with pytest.raises(SecretStoreUnavailableError) as caught:
        store.get("openai_api_key")
    assert str(caught.value) == f"{WHERE}: {UNREACHABLE}"


def test_by_default_throttling_is_tried_three_times_half_a_second_then_a_second_apart(aws):
    stubber = stubbed(aws, *["ThrottlingException"] * 3)
    sleeps: list[float] = []
    with pytest.raises(SecretStoreUnavailableError) as caught:
        AWSSecretsManagerStore(SECRET_ID, client=aws, sleep=sleeps.append).get("openai_api_key")
    assert sleeps == [0.5, 1.0]
    assert str(caught.value) == (f"{WHERE}: AWS Secrets Manager could not be read "
                                 "(ThrottlingException 3 times in a row)")
    stubber.assert_no_pending_responses()


def test_max_attempts_of_one_is_allowed_and_zero_is_refused_by_name(aws):
    stubber = stubbed(aws, "ThrottlingException")
    sleeps: list[float] = []
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, max_attempts=1, sleep=sleeps.append)
    with pytest.raises(SecretStoreUnavailableError, match=r"\(ThrottlingException once\)"):
        store.get("openai_api_key")
    assert sleeps == []  # one attempt, no retry
    stubber.assert_no_pending_responses()
    with pytest.raises(ValueError) as caught:
        AWSSecretsManagerStore(SECRET_ID, client=aws, max_attempts=0)
    assert str(caught.value) == REFUSED


@pytest.mark.parametrize("negative", ["ttl", "max_stale"])
def test_a_negative_ttl_or_max_stale_is_refused_on_its_own_and_zero_is_allowed(aws, clock, negative):
    with pytest.raises(ValueError) as caught:
        AWSSecretsManagerStore(SECRET_ID, client=aws, **{negative: -1})
    assert str(caught.value) == REFUSED
    create(aws, {"openai_api_key": OLD_KEY})
    calls = count_calls(aws)
    store = AWSSecretsManagerStore(SECRET_ID, client=aws, clock=clock, **{negative: 0})
    assert store.get("openai_api_key") == OLD_KEY and store.get("openai_api_key") == OLD_KEY
    assert len(calls) == (2 if negative == "ttl" else 1)  # a TTL of 0: every get reads AWS


def test_version_id_is_none_until_the_first_read_then_the_version_aws_answered(aws):
    created = aws.create_secret(Name=SECRET_ID, SecretString=json.dumps({"openai_api_key": OLD_KEY}))
    store = AWSSecretsManagerStore(SECRET_ID, client=aws)
    assert store.version_id is None
    store.get("openai_api_key")
    assert store.version_id == created["VersionId"]


def test_a_missing_field_message_names_the_secret_and_field_and_hints_only_at_a_case_slip(aws):
    create(aws, {"OPENAI_API_KEY": OLD_KEY, "anthropic_api_key": ANTHROPIC_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=aws)
    with pytest.raises(SecretNotFoundError) as slip:
        store.get("openai_api_key")
    with pytest.raises(SecretNotFoundError) as absent:
        store.get("mistral_api_key")
    store_name = "AWSSecretsManagerStore('prod/llm-app')"
    assert str(slip.value) == (f"{store_name}: the secret has no field 'openai_api_key' "
                               "(field names are case-sensitive: did you mean 'OPENAI_API_KEY'?)")
    assert str(absent.value) == f"{store_name}: the secret has no field 'mistral_api_key'"
    assert not any(holds_part_of(str(err.value), key) for err in (slip, absent)
                   for key in (OLD_KEY, ANTHROPIC_KEY))


def test_a_missing_secret_or_stage_is_named_and_a_refresh_names_the_store_alone(aws):
    with pytest.raises(SecretNotFoundError) as on_get:
        AWSSecretsManagerStore("prod/absent", client=aws).get("openai_api_key")
    with pytest.raises(SecretNotFoundError) as on_refresh:
        AWSSecretsManagerStore("prod/absent", client=aws).refresh()
    create(aws, {"openai_api_key": OLD_KEY})
    with pytest.raises(SecretNotFoundError) as no_stage:
        AWSSecretsManagerStore(SECRET_ID, client=aws, version_stage="AWSPENDING").get("openai_api_key")
    assert str(on_get.value) == ("AWSSecretsManagerStore('prod/absent'), field 'openai_api_key': "
                                 "no such secret, or no AWSCURRENT version of it")
    assert str(on_refresh.value) == ("AWSSecretsManagerStore('prod/absent'): "
                                     "no such secret, or no AWSCURRENT version of it")
    assert str(no_stage.value) == f"{WHERE}: no such secret, or no AWSPENDING version of it"


def test_a_refresh_with_nothing_cached_and_aws_unreachable_names_the_store_alone(aws):
    create(aws, {"openai_api_key": OLD_KEY})
    unreachable(aws)
    with pytest.raises(SecretStoreUnavailableError) as caught:
        AWSSecretsManagerStore(SECRET_ID, client=aws).refresh()
    assert str(caught.value) == f"AWSSecretsManagerStore('prod/llm-app'): {UNREACHABLE}"


def test_no_aws_credentials_anywhere_is_access_denied_saying_where_to_set_them(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_CONFIG_FILE": "/dev/null",
                        "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("secretsmanager")  # botocore finds no credentials before sending anything
    with pytest.raises(SecretAccessDeniedError) as caught:
        AWSSecretsManagerStore(SECRET_ID, client=client).get("openai_api_key")
    assert str(caught.value) == (f"{WHERE}: no AWS credentials found (set a profile, role or "
                                 "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
    assert isinstance(caught.value.__cause__, NoCredentialsError)


def test_an_aws_error_carrying_no_details_at_all_is_a_store_error_not_a_crash():
    class Bare:
        def get_secret_value(self, **_):
            raise ClientError({}, "GetSecretValue")  # type: ignore[arg-type]

    with pytest.raises(SecretStoreError) as caught:
        AWSSecretsManagerStore(SECRET_ID, client=Bare()).get("openai_api_key")  # type: ignore[arg-type]
    assert str(caught.value) == f"{WHERE}: GetSecretValue failed with an unknown error"


class ScriptedClient:
    """Each GetSecretValue call waits until the test lets it go (``go.release()``), then answers with
    the next of `answers`: a dict (the secret's fields) or an exception to raise."""

    def __init__(self, *answers: dict | BaseException) -> None:
        self.answers, self.calls = list(answers), 0
        self.entered, self.go = threading.Semaphore(0), threading.Semaphore(0)

    def get_secret_value(self, **_):
        self.calls += 1
        answer = self.answers.pop(0)
        self.entered.release()
        assert self.go.acquire(timeout=30)
        if isinstance(answer, BaseException):
            raise answer
        return {"SecretString": json.dumps(answer), "VersionId": f"v{self.calls}"}


def one_read_and_one_waiter(store: AWSSecretsManagerStore, client: ScriptedClient,
                            meanwhile=lambda: None) -> list[str]:
    """A first reader starts a read; a second arrives while it is in progress and waits; `meanwhile`
    runs; then the read is let go. Returns what each got (a value, or the text of its error)."""
    got: list[str] = []

    def reader() -> None:
        try:
            got.append(store.get("openai_api_key"))
        except SecretStoreError as err:
            got.append(str(err))

    first, second = (threading.Thread(target=reader, daemon=True) for _ in range(2))
    first.start()
    assert client.entered.acquire(timeout=30)
    second.start()
    wait_until(lambda: len(store._read_done._waiters) == 1, "the second reader waits")  # type: ignore[attr-defined]
    meanwhile()
    client.go.release()
    for thread in (first, second):
        thread.join(timeout=10)
    assert not first.is_alive() and not second.is_alive(), "a reader is still waiting"
    return got


def test_a_reader_queued_behind_a_read_gets_its_value_even_when_the_read_outlasted_the_ttl(clock):
    client = ScriptedClient({"openai_api_key": OLD_KEY})
    store = AWSSecretsManagerStore(SECRET_ID, client=client, ttl=60, clock=clock)  # type: ignore[arg-type]
    got = one_read_and_one_waiter(store, client, meanwhile=lambda: clock.advance(61))
    assert got == [OLD_KEY, OLD_KEY] and client.calls == 1  # no second read for the one who waited


def test_readers_queued_behind_each_failed_read_share_its_outage_time_after_time():
    down = EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")
    client = ScriptedClient(down, down)
    store = AWSSecretsManagerStore(SECRET_ID, client=client)  # type: ignore[arg-type]
    for calls in (1, 2):
        assert one_read_and_one_waiter(store, client) == [f"{WHERE}: {UNREACHABLE}"] * 2
        assert client.calls == calls


# -- FileStore: whatever sits under the name, the answer is a SecretStoreError, at once ------------------


def test_a_symlink_loop_is_a_secret_store_error_not_a_bare_os_error(tmp_path):
    (tmp_path / "openai_api_key").symlink_to("openai_api_key")
    with pytest.raises(SecretStoreError, match=r"'openai_api_key' cannot be read \(Too many") as caught:
        FileStore(tmp_path).get("openai_api_key")
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_name_too_long_for_a_file_is_not_found_so_a_chain_asks_the_next_store(tmp_path):
    name = "k" * 300
    with pytest.raises(SecretNotFoundError, match="no secret file named"):
        FileStore(tmp_path).get(name)
    assert ChainStore(FileStore(tmp_path), EnvStore({name.upper(): OLD_KEY})).get(name) == OLD_KEY


def test_a_fifo_under_the_name_is_refused_at_once_instead_of_waiting_for_a_writer(tmp_path):
    import os

    os.mkfifo(tmp_path / "openai_api_key")
    outcome: list[BaseException | str] = []

    def read() -> None:
        try:
            outcome.append(FileStore(tmp_path).get("openai_api_key"))
        except BaseException as err:  # noqa: BLE001 (handed to the test thread)
            outcome.append(err)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive(), "FileStore.get blocked on a FIFO"
    assert isinstance(outcome[0], SecretFormatError) and "not a regular file" in str(outcome[0])


def test_a_device_under_the_name_is_refused_not_read(tmp_path):
    (tmp_path / "openai_api_key").symlink_to("/dev/null")  # /dev/zero would never end
    with pytest.raises(SecretFormatError, match="'openai_api_key' is not a regular file"):
        FileStore(tmp_path).get("openai_api_key")


def test_a_file_larger_than_any_mounted_secret_is_refused_unread(tmp_path):
    (tmp_path / "openai_api_key").write_bytes(b"k" * (1024 * 1024 + 1))  # a Kubernetes Secret holds 1 MiB
    with pytest.raises(SecretFormatError, match="larger than 1 MiB"):
        FileStore(tmp_path).get("openai_api_key")
    (tmp_path / "openai_api_key").write_bytes(b"k" * (1024 * 1024))
    assert len(FileStore(tmp_path).get("openai_api_key")) == 1024 * 1024


def test_a_secret_file_we_may_not_read_is_access_denied_naming_the_file(tmp_path, monkeypatch):
    (tmp_path / "openai_api_key").write_text(OLD_KEY)

    def refuse(path, flags, *args):
        raise PermissionError(13, "Permission denied", str(path))  # what a 0400 file of root's gives

    monkeypatch.setattr("helpers.secret_store.os.open", refuse)
    with pytest.raises(SecretAccessDeniedError, match="'openai_api_key' cannot be read: permission denied"):
        FileStore(tmp_path).get("openai_api_key")


class VanishingStore(EnvStore):
    """An environment store whose refresh finds the secret gone (deleted during a rotation, say)."""

    def __init__(self, environ: dict[str, str]) -> None:
        super().__init__(environ)
        self.environ = environ

    def refresh(self) -> None:
        self.environ.clear()


def test_a_store_error_during_the_refresh_after_a_401_carries_no_key_on_its_chain():
    store = VanishingStore({"OPENAI_API_KEY": OLD_KEY})
    client = FakeProvider({OLD_KEY: "invalid"}).client(api_key_from(store, "openai_api_key"))
    with pytest.raises(SecretNotFoundError) as caught:
        call_with_key_refresh(store, "openai_api_key", client.models.list)
    # The SDK's 401 keeps the request it sent, Authorization header and key included: not chained here.
    assert caught.value.__context__ is None and caught.value.__cause__ is None
