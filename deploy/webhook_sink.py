"""A webhook receiver on 127.0.0.1 for tests and the alert benchmark:
records every request (with its arrival time), checks signatures, and fails
on demand (per Idempotency-Key, or everything while "down")."""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from indexer.alerts.webhooks import SIGNATURE_HEADER, signature_valid


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    json: Any
    signature_valid: bool | None  # None: the server has no secret to check with
    status: int  # what the server answered
    at: float = field(default_factory=time.monotonic)
    wall: float = field(default_factory=time.time)  # to compare with alert timestamps

    @property
    def key(self) -> str | None:
        return self.headers.get("Idempotency-Key")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class WebhookServer:
    """``with WebhookServer(secret) as hook: ... hook.url ...``"""

    def __init__(self, secret: str | None = None) -> None:
        self.secret = secret
        self.requests: list[Received] = []
        self._lock = threading.Condition()
        self._down = False
        self._down_status = 503
        self._fail_per_key: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
        self._fail_first = 0
        self._fail_first_status = 503
        self._seen: dict[str, int] = defaultdict(int)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> "WebhookServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- behaviour --
    def fail_next(self, key: str, n: int, status: int = 503, retry_after: str | None = None) -> None:
        """Answer the next ``n`` requests with this Idempotency-Key with ``status``."""
        with self._lock:
            self._fail_per_key[key].extend([(status, retry_after)] * n)

    def fail_first_per_key(self, n: int, status: int = 503) -> None:
        """Answer the first ``n`` requests of every Idempotency-Key with ``status``."""
        with self._lock:
            self._fail_first, self._fail_first_status = n, status

    def set_down(self, down: bool, status: int = 503) -> None:
        """While down, every request is answered with ``status``."""
        with self._lock:
            self._down, self._down_status = down, status

    # -- observations --
    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
        """Wait until ``predicate()`` holds (checked on every request, and at
        least every 0.1 s for conditions that depend on something else)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.1))
        return True

    def delivered(self) -> dict[str, list[Received]]:
        """Successful (2xx) requests grouped by Idempotency-Key."""
        grouped: dict[str, list[Received]] = defaultdict(list)
        with self._lock:
            for request in self.requests:
                if request.ok and request.key is not None:
                    grouped[request.key].append(request)
        return dict(grouped)

    def for_key(self, key: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.key == key]

    # -- serving --
    def _answer(self, key: str | None) -> tuple[int, str | None]:
        with self._lock:
            if self._down:
                return self._down_status, None
            if key is not None:
                self._seen[key] += 1
                if self._fail_per_key.get(key):
                    return self._fail_per_key[key].pop(0)
                if self._seen[key] <= self._fail_first:
                    return self._fail_first_status, None
            return 200, None

    def _record(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)
            self._lock.notify_all()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items()}
                status, retry_after = server._answer(headers.get("Idempotency-Key"))
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                valid = None if server.secret is None else signature_valid(server.secret, body, headers.get(SIGNATURE_HEADER))
                # recorded before answering: once the sender has its answer,
                # the test sees the request
                server._record(Received(headers, body, parsed, valid, status))
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler
