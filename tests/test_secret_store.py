"""Tests for helpers.secret_store: every store, the AWS cache and its errors, and a rotation end to end.

AWS Secrets Manager is moto (in process); throttling and access denied come from botocore's Stubber,
an unreachable endpoint from a ``before-send`` hook. Time is a fake clock: nothing sleeps.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import boto3
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError, NoCredentialsError
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from helpers.key_formats import fake_key, fingerprint
from helpers.mock_provider import FakeProvider
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


@pytest.mark.parametrize("name", ["../outside", "a/b", ".hidden", "..data", ""])
def test_file_store_refuses_names_that_leave_the_directory(tmp_path, name):
    (tmp_path / "outside").write_text(OLD_KEY)
    with pytest.raises(SecretNotFoundError, match="not a valid secret file name"):
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


def test_file_store_binary_file_is_a_format_error(tmp_path):
    (tmp_path / "blob").write_bytes(b"\xff\xfe" + OLD_KEY.encode())
    with pytest.raises(SecretFormatError, match="'blob' is not UTF-8") as err:
        FileStore(tmp_path).get("blob")
    assert OLD_KEY not in str(err.value)


@settings(max_examples=30)
@given(value=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1))
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
@given(fields=st.dictionaries(st.text(min_size=1, max_size=20),
                              st.text(min_size=8).map(lambda s: f"sk-FAKE-{s}"), max_size=5),
       missing=st.text(min_size=1, max_size=20))
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
    (OLD_KEY, "not JSON"), (json.dumps([OLD_KEY]), "JSON list, not an object"), ('"text"', "JSON str"),
])
def test_a_secret_that_is_not_a_json_object_is_a_format_error(aws, secret_string, expected):
    aws.create_secret(Name=SECRET_ID, SecretString=secret_string)
    with pytest.raises(SecretFormatError, match=expected) as err:
        AWSSecretsManagerStore(SECRET_ID, client=aws).get("openai_api_key")
    assert OLD_KEY not in str(err.value) and err.value.__cause__ is None


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
