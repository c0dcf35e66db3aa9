"""Tiny JSON-over-HTTP helper for health checks (no client library needed)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


def call(method: str, url: str, body: Any = None, timeout_s: float = 10.0) -> tuple[int, Any]:
    """(status, parsed JSON or text). Connection errors raise OSError."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", errors="replace")


def cluster_yellow(base_url: str, timeout_s: float = 5.0) -> bool:
    try:
        status, body = call(
            "GET", f"{base_url}/_cluster/health?wait_for_status=yellow&timeout={int(timeout_s)}s", timeout_s=timeout_s + 5
        )
    except OSError:
        return False
    return status == 200 and isinstance(body, dict) and body.get("status") in ("yellow", "green")
