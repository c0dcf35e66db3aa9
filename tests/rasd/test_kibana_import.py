"""`rasd kibana import` against a FAKE of the saved-objects import endpoint.

No Kibana or OpenSearch Dashboards can run on the development machines, so
these tests serve a small imitation of their HTTP API on 127.0.0.1: it
answers ``GET /api/status`` the way each product names itself, and checks
what the real ``POST /api/saved_objects/_import`` requires (the product's
xsrf header, ``overwrite=true``, a multipart body with an NDJSON ``file``
part), keeping the imported objects by type and id as the real endpoint does
with overwrite. Its answers copy the shapes the products document: success
with ``successCount``, per-object ``errors`` (missing references, unsupported
type), HTTP 400 with a message, 503 while starting. What the objects do once
imported cannot be tested here; the files and the engines' view of their
fields and queries are tested in test_dashboards.py and
test_dashboards_engines.py."""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import typer.main
from typer.testing import CliRunner

from rasd.cli import app
from rasd.dashboards import KIBANA, OPENSEARCH, Indices, ndjson, saved_objects
from rasd.kibana import NotReady, import_dashboards
from tests.test_docker_compose import _resolved

runner = CliRunner()
XSRF = {KIBANA: "kbn-xsrf", OPENSEARCH: "osd-xsrf"}
NAME = {KIBANA: "kbn-name", OPENSEARCH: "osd-name"}
VERSION = {KIBANA: "9.1.5", OPENSEARCH: "2.19.0"}


class FakeDashboards:
    """The imitation server. ``mode``: ok | refuse_objects | bad_request |
    starting (503 for the first ``starting_for`` requests)."""

    def __init__(self, flavor: str, mode: str = "ok", starting_for: int = 0) -> None:
        self.flavor, self.mode, self.starting_for = flavor, mode, starting_for
        self.stored: dict[tuple[str, str], dict[str, Any]] = {}
        self.imports: list[dict[str, Any]] = []
        self.requests = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header(NAME[fake.flavor], "fake-" + fake.flavor)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                fake.requests += 1
                if fake.requests <= fake.starting_for:
                    return self._send(503, {"statusCode": 503, "error": "Service Unavailable",
                                            "message": "Kibana server is not ready yet"})
                if urlsplit(self.path).path != "/api/status":
                    return self._send(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"})
                self._send(200, {"name": "fake", "version": {"number": VERSION[fake.flavor]},
                                 "status": {"overall": {"level": "available"}}})

            def do_POST(self) -> None:  # noqa: N802
                fake.requests += 1
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if fake.requests <= fake.starting_for:
                    return self._send(503, {"statusCode": 503, "error": "Service Unavailable",
                                            "message": "Kibana server is not ready yet"})
                url = urlsplit(self.path)
                if url.path != "/api/saved_objects/_import":
                    return self._send(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"})
                if XSRF[fake.flavor] not in self.headers:
                    return self._send(400, {"statusCode": 400, "error": "Bad Request",
                                            "message": f"Request must contain a {XSRF[fake.flavor]} header."})
                query = parse_qs(url.query)
                ctype = self.headers.get("content-type", "")
                if not ctype.startswith("multipart/form-data; boundary="):
                    return self._send(415, {"statusCode": 415, "error": "Unsupported Media Type",
                                            "message": "Unsupported Media Type"})
                message = BytesParser(policy=HTTP).parsebytes(b"content-type: " + ctype.encode() + b"\r\n\r\n" + body)
                parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
                file_part = parts.get("file")
                if file_part is None or not file_part.get_filename("").endswith(".ndjson"):
                    return self._send(400, {"statusCode": 400, "error": "Bad Request",
                                            "message": "Invalid file extension"})
                objects = [json.loads(line) for line in file_part.get_payload(decode=True).decode().splitlines()]
                fake.imports.append({"overwrite": query.get("overwrite"), "objects": objects})
                if fake.mode == "bad_request":
                    return self._send(400, {"statusCode": 400, "error": "Bad Request",
                                            "message": "Unexpected token in JSON at position 12"})
                errors = []
                for obj in objects:
                    key = (obj["type"], obj["id"])
                    if key in fake.stored and query.get("overwrite") != ["true"]:
                        errors.append({"id": obj["id"], "type": obj["type"], "meta": {"title": obj["attributes"]["title"]},
                                       "error": {"type": "conflict"}})
                    elif fake.mode == "refuse_objects" and obj["type"] == "dashboard":
                        errors.append({"id": obj["id"], "type": obj["type"], "title": obj["attributes"]["title"],
                                       "meta": {"title": obj["attributes"]["title"], "icon": "dashboardApp"},
                                       "error": {"type": "missing_references",
                                                 "references": [{"type": "lens", "id": "rasd-gone"}]}})
                    elif fake.mode == "refuse_objects" and obj["type"] == "index-pattern":
                        errors.append({"id": obj["id"], "type": obj["type"], "meta": {"title": obj["attributes"]["title"]},
                                       "error": {"type": "unknown", "message": "version conflict", "statusCode": 409}})
                    else:
                        fake.stored[key] = obj
                result: dict[str, Any] = {"success": not errors, "successCount": len(objects) - len(errors),
                                          "successResults": [{"type": o["type"], "id": o["id"]} for o in objects]}
                if errors:
                    result["errors"] = errors
                self._send(200, result)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[Any]:
    servers: list[FakeDashboards] = []

    def start(flavor: str, mode: str = "ok", starting_for: int = 0) -> FakeDashboards:
        servers.append(FakeDashboards(flavor, mode, starting_for))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("flavor", [KIBANA, OPENSEARCH])
def test_import_asks_the_server_what_it_is_and_is_idempotent(fake, flavor):
    server = fake(flavor)
    first = runner.invoke(app, ["kibana", "import", "--url", server.url])
    assert first.exit_code == 0, first.output
    expected = saved_objects(flavor)
    assert f"imported {len(expected)} saved object(s)" in first.stdout
    assert f"{server.url}/app/dashboards#/view/rasd-overview" in first.stdout
    assert server.imports[0]["overwrite"] == ["true"]
    assert server.imports[0]["objects"] == expected  # the product's own flavour of objects
    stored = dict(server.stored)
    again = runner.invoke(app, ["kibana", "import", "--url", server.url])
    assert again.exit_code == 0, again.output
    assert server.stored == stored and len(server.stored) == len(expected), "the same objects, overwritten"


def test_the_url_and_index_names_come_from_the_settings(fake):
    server = fake(KIBANA)
    env = {"RASD_KIBANA_URL": server.url, "RASD_ARTICLES_ALIAS": "news-articles",
           "RASD_ALERTS_INDEX": "news-alerts", "RASD_EXTRACTION_LOG_INDEX": "news-extraction"}
    result = runner.invoke(app, ["kibana", "import", "--dashboards", "kibana"], env=env)
    assert result.exit_code == 0, result.output
    views = {o["attributes"]["title"] for o in server.imports[0]["objects"] if o["type"] == "index-pattern"}
    assert views == {"news-articles", "news-alerts", "news-extraction"}


def test_an_explicit_product_skips_the_status_call(fake):
    server = fake(OPENSEARCH)
    result = runner.invoke(app, ["kibana", "import", "--url", server.url, "--dashboards", "opensearch"])
    assert result.exit_code == 0, result.output
    assert server.requests == 1, "one request: the import"


def test_the_wrong_product_is_refused_by_the_xsrf_check(fake):
    """Kibana objects sent to OpenSearch Dashboards carry kbn-xsrf, which it
    does not accept: its refusal is shown, exit 1."""
    server = fake(OPENSEARCH)
    result = runner.invoke(app, ["kibana", "import", "--url", server.url, "--dashboards", "kibana"])
    assert result.exit_code == 1
    assert "refused the import (HTTP 400): Request must contain a osd-xsrf header." in result.stderr


def test_each_refused_object_is_reported(fake):
    server = fake(KIBANA, mode="refuse_objects")
    result = runner.invoke(app, ["kibana", "import", "--url", server.url])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "4 object(s) refused:" in lines  # three data views and the dashboard
    assert "  dashboard rasd-overview (Rasd overview): missing references: lens rasd-gone" in lines
    assert "  index-pattern rasd-alerts (rasd-alerts): unknown (HTTP 409): version conflict" in lines
    assert f"imported {len(saved_objects(KIBANA)) - 4} saved object(s) into Kibana 9.1.5 at {server.url}" in lines


def test_a_refused_file_reports_the_servers_message(fake, tmp_path):
    server = fake(KIBANA, mode="bad_request")
    export = tmp_path / "edited.ndjson"
    export.write_text(ndjson(KIBANA, Indices("a", "b", "c")), encoding="utf-8")
    result = runner.invoke(app, ["kibana", "import", "--url", server.url, "--file", str(export)])
    assert result.exit_code == 1
    assert "Kibana at" in result.stderr and "(HTTP 400): Unexpected token in JSON at position 12" in result.stderr
    assert server.imports[0]["objects"][0]["attributes"]["title"] == "a", "the file was sent as it is"


def test_an_unreachable_server_is_a_clear_error():
    url = f"http://127.0.0.1:{_closed_port()}"
    result = runner.invoke(app, ["kibana", "import", "--url", url])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"rasd kibana import: cannot reach {url} (ConnectionError): is Kibana running there? "
        "Pass --url or set RASD_KIBANA_URL")


def test_a_starting_server_is_waited_for_when_asked(fake, monkeypatch):
    monkeypatch.setattr("rasd.kibana.RETRY_EVERY_S", 0.05)
    server = fake(KIBANA, starting_for=3)
    with pytest.raises(NotReady, match=r"not ready yet \(HTTP 503\): Kibana server is not ready yet"):
        import_dashboards(server.url)  # no --wait: the first 503 is final
    report = import_dashboards(server.url, wait_s=5)
    assert report.ok and report.flavor == KIBANA and report.version == "9.1.5"
    assert report.success_count == len(saved_objects(KIBANA))


def test_docker_compose_imports_the_dashboards_once_kibana_is_healthy():
    services = _resolved()["services"]
    one_shot = services["kibana-import"]
    assert one_shot["command"][:2] == ["kibana", "import"] and "kibana" in typer.main.get_command(app).commands
    command = one_shot["command"]
    assert command[command.index("--url") + 1] == "http://kibana:5601"
    assert command[command.index("--dashboards") + 1] == "kibana"
    assert set(one_shot["depends_on"]) == {"kibana"}
    assert one_shot["depends_on"]["kibana"]["condition"] == "service_healthy"
    assert one_shot["restart"] == "on-failure"
    assert one_shot["build"]["context"] == services["indexer"]["build"]["context"]
    # the data views point where the compose services write
    env = one_shot["environment"]
    assert env["RASD_ARTICLES_ALIAS"] == services["indexer"]["environment"]["RASD_ARTICLES_ALIAS"]
    assert env["RASD_ALERTS_INDEX"] == services["indexer"]["environment"]["RASD_ALERTS_INDEX"]
    assert env["RASD_EXTRACTION_LOG_INDEX"] == services["ingest"]["environment"]["RASD_EXTRACTION_LOG_INDEX"]
