"""`rasd kibana import`: load the Rasd dashboards into Kibana or OpenSearch
Dashboards through the saved-objects import API.

``POST /api/saved_objects/_import?overwrite=true`` with the objects as a
multipart NDJSON file: objects are matched by id and overwritten, so running
it again changes nothing (idempotent). The objects are rendered by
``rasd.dashboards`` for the index names of the current configuration
(RASD_ARTICLES_ALIAS, RASD_ALERTS_INDEX, RASD_EXTRACTION_LOG_INDEX), or read
from ``--file``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ingest.redaction import split_userinfo
from rasd.dashboards import KIBANA, OPENSEARCH, OVERVIEW

AUTO = "auto"
PRODUCT = {KIBANA: "Kibana", OPENSEARCH: "OpenSearch Dashboards"}
# The header each product demands on API writes (cross-site request forgery guard).
XSRF_HEADER = {KIBANA: "kbn-xsrf", OPENSEARCH: "osd-xsrf"}
# The header each product names itself with on every response.
NAME_HEADER = {KIBANA: "kbn-name", OPENSEARCH: "osd-name"}
IMPORT_PATH = "/api/saved_objects/_import"
STATUS_PATH = "/api/status"
RETRY_EVERY_S = 2.0


class KibanaError(Exception):
    """The import could not be done; the message says why, for the user."""


class NotReady(KibanaError):
    """Unreachable, or up but not ready yet (503): worth another try."""


@dataclass(frozen=True)
class ObjectError:
    type: str
    id: str
    title: str
    reason: str

    def render(self) -> str:
        title = f" ({self.title})" if self.title else ""
        return f"{self.type} {self.id}{title}: {self.reason}"


@dataclass
class ImportReport:
    flavor: str
    url: str
    version: str | None
    success_count: int
    errors: list[ObjectError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def render(self) -> str:
        product = PRODUCT[self.flavor] + (f" {self.version}" if self.version else "")
        lines = [f"imported {self.success_count} saved object(s) into {product} at {self.url}"]
        if self.errors:
            lines.append(f"{len(self.errors)} object(s) refused:")
            lines += [f"  {error.render()}" for error in self.errors]
        else:
            lines.append(f"dashboard: {self.url}/app/dashboards#/view/{OVERVIEW.id}")
        return "\n".join(lines)


def _reason(error: dict[str, Any]) -> str:
    """One object's import error in words (Kibana's and Dashboards' shapes)."""
    kind = str(error.get("type") or "unknown")
    if kind == "missing_references":
        refs = ", ".join(f"{r.get('type')} {r.get('id')}" for r in error.get("references") or [])
        return f"missing references: {refs or '?'}"
    if kind == "conflict":
        return "conflict with an existing object (not overwritten)"
    if kind == "unsupported_type":
        return "this product has no such object type (is the file for the other product?)"
    message = error.get("message") or error.get("error") or ""
    status = error.get("statusCode")
    return f"{kind}" + (f" (HTTP {status})" if status else "") + (f": {message}" if message else "")


def object_errors(body: dict[str, Any]) -> list[ObjectError]:
    found = []
    for item in body.get("errors") or []:
        title = item.get("title") or (item.get("meta") or {}).get("title") or ""
        found.append(ObjectError(str(item.get("type", "?")), str(item.get("id", "?")), str(title),
                                 _reason(item.get("error") or {})))
    return found


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:300] or response.reason or ""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)[:500]
    return str(body)[:500]


class KibanaClient:
    """The two calls the import needs, on one ``requests`` session."""

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 timeout_s: float = 60.0) -> None:
        import requests

        # credentials in the URL move to the session: self.url gets printed
        url, url_user, url_password = split_userinfo(url)
        if url_user and not username:
            username, password = url_user, url_password
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._session = requests.Session()
        if username:
            self._session.auth = (username, password or "")

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        try:
            response = self._session.request(method, self.url + path, timeout=self.timeout_s, **kwargs)
        except requests.ConnectionError as exc:
            raise NotReady(f"cannot reach {self.url} ({type(exc).__name__}): is Kibana running there? "
                           "Pass --url or set RASD_KIBANA_URL") from exc
        except requests.Timeout as exc:
            raise NotReady(f"{self.url} did not answer within {self.timeout_s:g} s") from exc
        except requests.RequestException as exc:
            raise KibanaError(f"request to {self.url}{path} failed: {exc}") from exc
        if response.status_code == 503:
            raise NotReady(f"{self.url} is not ready yet (HTTP 503): {_message(response)}")
        if response.status_code in (401, 403):
            raise KibanaError(f"{self.url}{path} refused the credentials (HTTP {response.status_code}): "
                              f"{_message(response)}; set RASD_KIBANA_USERNAME and RASD_KIBANA_PASSWORD")
        return response

    def detect(self) -> tuple[str, str | None]:
        """(flavor, version) of the product at the URL, from the name header
        it sends on every response, else from its version number (Kibana is
        7 and up, OpenSearch Dashboards 1 to 3)."""
        response = self._call("GET", STATUS_PATH)
        version = None
        try:
            body = response.json()
            version = str(body["version"]["number"])
        except (ValueError, KeyError, TypeError):
            body = None
        for flavor, header in NAME_HEADER.items():
            if header in response.headers:
                return flavor, version
        if version and version.split(".")[0].isdigit():
            return (KIBANA if int(version.split(".")[0]) >= 7 else OPENSEARCH), version
        raise KibanaError(f"{self.url}{STATUS_PATH} answered HTTP {response.status_code} but does not say whether "
                          "it is Kibana or OpenSearch Dashboards; pass --dashboards kibana|opensearch")

    def import_ndjson(self, flavor: str, data: bytes) -> tuple[int, list[ObjectError]]:
        response = self._call(
            "POST", IMPORT_PATH,
            params={"overwrite": "true"},
            headers={XSRF_HEADER[flavor]: "rasd"},
            files={"file": ("rasd-dashboards.ndjson", data, "application/ndjson")},
        )
        if response.status_code != 200:
            raise KibanaError(f"{PRODUCT[flavor]} at {self.url} refused the import "
                              f"(HTTP {response.status_code}): {_message(response)}")
        try:
            body = response.json()
        except ValueError as exc:
            raise KibanaError(f"{PRODUCT[flavor]} at {self.url} answered the import with no JSON: "
                              f"{response.text[:200]!r}") from exc
        errors = object_errors(body)
        if not body.get("success", False) and not errors:
            errors = [ObjectError("import", "-", "", f"not successful: {str(body)[:300]}")]
        return int(body.get("successCount") or 0), errors


def _retrying(call: Callable[[], Any], wait_s: float, sleep: Callable[[float], None] = time.sleep) -> Any:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return call()
        except NotReady:
            if time.monotonic() + RETRY_EVERY_S > deadline:
                raise
            sleep(RETRY_EVERY_S)


def import_dashboards(
    url: str,
    *,
    flavor: str = AUTO,
    ndjson: bytes | None = None,
    indices: Any = None,
    username: str | None = None,
    password: str | None = None,
    timeout_s: float = 60.0,
    wait_s: float = 0.0,
) -> ImportReport:
    """Import the Rasd saved objects (or ``ndjson``) into the product at
    ``url``; ``flavor`` auto asks the product what it is. Waits up to
    ``wait_s`` for a product that is unreachable or not ready yet."""
    from rasd.dashboards import ndjson as render

    client = KibanaClient(url, username=username, password=password, timeout_s=timeout_s)
    try:
        version = None
        if flavor == AUTO:
            flavor, version = _retrying(client.detect, wait_s)
        data = ndjson if ndjson is not None else render(flavor, indices).encode("utf-8")
        count, errors = _retrying(lambda: client.import_ndjson(flavor, data), wait_s)
    finally:
        client.close()
    return ImportReport(flavor, client.url, version, count, errors)


# -- command line ---------------------------------------------------------

kibana_app = typer.Typer(no_args_is_help=True, help="Kibana / OpenSearch Dashboards: the Rasd dashboards.")


@kibana_app.command("import")
def kibana_import(
    url: Annotated[Optional[str], typer.Option(help="Kibana URL (default: RASD_KIBANA_URL)")] = None,
    dashboards: Annotated[str, typer.Option(
        "--dashboards", help="kibana, opensearch (OpenSearch Dashboards), or auto: ask the server")] = AUTO,
    file: Annotated[Optional[Path], typer.Option(
        help="import this NDJSON export instead of the objects rendered for the configured indices")] = None,
    wait: Annotated[float, typer.Option(
        min=0, help="seconds to keep trying while the server is unreachable or not ready")] = 0.0,
) -> None:
    """Import the "Rasd overview" dashboard, its visualizations, saved searches and data views.

    Objects are overwritten by id, so running it again is harmless. Exit 1 when the server cannot be reached,
    refuses the import, or refuses any object (each one is listed with the reason)."""
    from rasd.cli import _settings
    from rasd.dashboards import Indices

    if dashboards not in (AUTO, KIBANA, OPENSEARCH):
        raise typer.BadParameter("choose kibana, opensearch or auto", param_hint="--dashboards")
    settings = _settings()
    data = None
    if file is not None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise typer.BadParameter(f"cannot read {file}: {exc}", param_hint="--file") from exc
    target = url or settings.kibana_url
    password = settings.kibana_password.get_secret_value() if settings.kibana_password else None
    try:
        report = import_dashboards(target, flavor=dashboards, ndjson=data, indices=Indices.from_settings(settings),
                                   username=settings.kibana_username, password=password,
                                   timeout_s=settings.kibana_timeout_s, wait_s=wait)
    except KibanaError as exc:
        typer.echo(f"rasd kibana import: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(report.render(), err=not report.ok)
    raise typer.Exit(0 if report.ok else 1)
