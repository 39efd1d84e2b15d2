"""Readers' latency while AWS Secrets Manager hangs: the store today against the store before issue 16.

    python -m benchmarks.secret_store

A local TCP server plays AWS: it answers the first GetSecretValue, then accepts every further request,
reads it and never replies until it is released, `HANG` seconds later. Eight reader threads call
``store.get()`` in a loop after the TTL has run out. We keep the latency of every ``get`` that started
during the hang. "before" is the old design: one lock held across the network call, so every reader
queues behind the refresh; "now" is `AWSSecretsManagerStore` as it is: one reader refreshes, the
others are served the cached value at once (the refreshing reader itself still waits for AWS: the
"max" column).
"""

from __future__ import annotations

import json
import logging
import socket
import statistics
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from helpers.aws_secret_store import AWSSecretsManagerStore
from helpers.key_formats import fake_key

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

HANG = 1.0  # seconds the endpoint holds the refresh
READERS = 8
RUNS = 5
SECRET_ID = "bench/llm-app"
FIELD = "openai_api_key"


class HangingSecretsManager:
    """AWS Secrets Manager that hangs, on 127.0.0.1: answers the first `answers` requests with
    `secret_string`, then reads each further request and never replies until `release()`, after
    which it closes the connection unanswered. `held` is set once a request is being held."""

    def __init__(self, secret_string: str, *, answers: int = 1) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # so the accept loop notices close()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.secret_string, self._answers_left = secret_string, answers
        self.held, self._released, self._closed = threading.Event(), threading.Event(), threading.Event()
        self._lock = threading.Lock()
        self.requests = 0

    def __enter__(self) -> HangingSecretsManager:
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.release()
        self._closed.set()
        self._listener.close()

    def release(self) -> None:
        self._released.set()

    def client(self, config: Config | None = None) -> SecretsManagerClient:
        """A boto3 client pointed at this server (fake credentials, no proxy)."""
        client: SecretsManagerClient = boto3.client(
            "secretsmanager", region_name="us-east-1", endpoint_url=self.url,
            aws_access_key_id="FAKEACCESSKEYEXAMPLE", aws_secret_access_key="FAKE-secret-access-key-EXAMPLE",
            config=(config or Config()).merge(Config(proxies={})))
        return client

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            connection.settimeout(None)
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            while _read_request(connection):
                with self._lock:
                    self.requests += 1
                    answer, self._answers_left = self._answers_left > 0, max(self._answers_left - 1, 0)
                if not answer:
                    self.held.set()
                    self._released.wait()
                    return
                connection.sendall(_answer(self.secret_string))


def _read_request(connection: socket.socket) -> bool:
    """Read one HTTP request (headers and body); False when the client closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            return False
        body += chunk
    return True


def _answer(secret_string: str) -> bytes:
    body = json.dumps({
        "ARN": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{SECRET_ID}-AbCdEf", "Name": SECRET_ID,
        "VersionId": "v" * 32, "SecretString": secret_string, "VersionStages": ["AWSCURRENT"],
        "CreatedDate": 1_700_000_000}).encode()
    head = ("HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
            f"x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def locked_around(store: AWSSecretsManagerStore) -> Callable[[str], str]:
    """The old design: one lock around the cache check, the network call and the back-off sleeps."""
    lock = threading.Lock()

    def get(name: str) -> str:
        with lock:
            return store.get(name)
    return get


def latencies_during_hang(old_design: bool) -> list[float]:
    """Seconds taken by each ``get`` that started while the endpoint held the refresh."""
    key = fake_key("openai-project", 1)
    with HangingSecretsManager(json.dumps({FIELD: key})) as endpoint:
        client = endpoint.client(Config(connect_timeout=2, read_timeout=HANG * 10,
                                        retries={"mode": "standard", "total_max_attempts": 1}))
        store = AWSSecretsManagerStore(SECRET_ID, client=client, ttl=0.05)
        get = locked_around(store) if old_design else store.get
        get(FIELD)
        time.sleep(0.06)  # the TTL runs out
        samples: list[tuple[float, float]] = []
        stop, start = threading.Event(), threading.Barrier(READERS + 1)

        def reader() -> None:
            start.wait()
            while not stop.is_set():
                began = time.perf_counter()
                get(FIELD)
                samples.append((began, time.perf_counter() - began))

        threads = [threading.Thread(target=reader) for _ in range(READERS)]
        for thread in threads:
            thread.start()
        start.wait()
        endpoint.held.wait(timeout=10)
        time.sleep(HANG)
        hang_over = time.perf_counter()
        endpoint.release()
        time.sleep(0.05)
        stop.set()
        for thread in threads:
            thread.join()
    return [took for began, took in samples if began < hang_over]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    logging.getLogger("helpers.aws_secret_store").setLevel(logging.ERROR)  # one warning per run otherwise
    print(f"readers' get() latency while AWS hangs for {HANG:.1f} s, {READERS} readers, {RUNS} runs")
    print(f"{'design':>7} {'gets':>9} {'p50':>11} {'p99':>11} {'max':>9}   (min / median / max over runs)")
    results: dict[str, tuple[list[float], list[float]]] = {}
    for label, old in (("before", True), ("now", False)):
        runs = [latencies_during_hang(old) for _ in range(RUNS)]
        p50s, p99s = [percentile(r, 0.50) for r in runs], [percentile(r, 0.99) for r in runs]
        results[label] = (p50s, p99s)
        gets = statistics.median(len(r) for r in runs)
        print(f"{label:>7} {gets:>9.0f} {_ms(p50s):>11} {_ms(p99s):>11} {max(max(r) for r in runs):>8.3f}s")
        for name, values in (("p50", p50s), ("p99", p99s)):
            print(f"{'':>9}{name}: " + " / ".join(f"{v * 1e3:.3f} ms" for v in
                                                   (min(values), statistics.median(values), max(values))))
    ratio50 = statistics.median(results["before"][0]) / statistics.median(results["now"][0])
    ratio99 = statistics.median(results["before"][1]) / statistics.median(results["now"][1])
    print(f"median p50 before/now: {ratio50:,.0f}x; median p99 before/now: {ratio99:,.0f}x")


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:.3f} ms"


if __name__ == "__main__":
    main()
