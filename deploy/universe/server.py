"""Serving a set of sites on loopback, one IP address per site, with a
request log.

Separate addresses (127.0.0.11, .12, ...) rather than separate ports give
every site its own host name, which is what crawlers key politeness,
robots.txt and per-domain limits on. Linux routes all of 127.0.0.0/8 to the
loopback interface, so no set-up is needed.

Behaviour common to all sites lives here, implemented once: latency,
ETag/Last-Modified and 304 answers, HEAD, and the request log.
"""
from __future__ import annotations

import hashlib
import socket
import socketserver
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import yaml

from ingest.dates import parse_http_date

from deploy.universe.sites import TEXT, NewsSite, Request, Response

CRAWLER_HEADER = "X-Rasd-Crawler"


@dataclass(frozen=True)
class Hit:
    """One request as the site saw it."""

    site: str
    host: str  # Host header as sent (e.g. "127.0.0.11:40123")
    path: str  # as sent, percent-encoded, without query
    query: str
    status: int
    started: float  # time.time() when the request line was read
    finished: float  # time.time() when the response was ready to send (latency included)
    user_agent: str
    if_none_match: str | None
    if_modified_since: str | None
    client: str | None  # X-Rasd-Crawler header: lets crawler processes tag themselves

    @property
    def url(self) -> str:
        return f"http://{self.host}{self.path}" + (f"?{self.query}" if self.query else "")


def loopback_address(n: int) -> str:
    """The n-th loopback address, spilling over into 127.0.x.y past .254."""
    octets = (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF
    return "127.{}.{}.{}".format(*octets)


def _validators(response: Response) -> list[tuple[str, str]]:
    etag = '"' + hashlib.sha1(response.body).hexdigest()[:24] + '"'
    found = [("ETag", etag)]
    if response.last_modified is not None:
        found.append(("Last-Modified", format_datetime(response.last_modified.astimezone(timezone.utc), usegmt=True)))
    return found


def _not_modified(response: Response, validators: list[tuple[str, str]], headers: Any) -> bool:
    etag = validators[0][1]
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        # RFC 9110: If-None-Match wins over If-Modified-Since; weak comparison.
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since_text = headers.get("If-Modified-Since")
    if since_text is None or response.last_modified is None:
        return False
    since = parse_http_date(since_text)
    if since is None:
        return False
    return response.last_modified.replace(microsecond=0) <= since


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The benchmark opens many connections at once; the default backlog of 5 drops SYNs.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], site: NewsSite, universe: Universe) -> None:
        self.site = site
        self.universe = universe
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn), which
        # can stall for seconds on machines without a resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """End kept-alive connections, so a stopped site really stops answering."""
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "RasdUniverse/1.0"
    # Headers and body go out in two writes; Nagle + delayed ACK would add
    # 40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log replaces stderr noise

    def _serve(self, send_body: bool) -> None:
        started = time.time()
        site = self.server.site
        parts = urlsplit(self.path)
        if site.latency_s:
            time.sleep(site.latency_s)
        try:
            response = site.handle(Request(parts.path or "/", parts.query, self.headers))  # type: ignore[arg-type]
        except Exception:
            traceback.print_exc()
            response = Response(500, b"fixture site error\n", TEXT)
        status, headers = self._prepare(response)
        # Logged before sending: whoever holds the response finds its hit.
        self.server.universe._record(Hit(
            site=site.name, host=self.headers.get("Host") or "%s:%s" % self.server.server_address[:2],
            path=parts.path, query=parts.query, status=status, started=started, finished=time.time(),
            user_agent=self.headers.get("User-Agent", ""), if_none_match=self.headers.get("If-None-Match"),
            if_modified_since=self.headers.get("If-Modified-Since"), client=self.headers.get(CRAWLER_HEADER),
        ))
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            if send_body and status != 304:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _prepare(self, response: Response) -> tuple[int, list[tuple[str, str]]]:
        status = response.status
        headers = list(response.headers)
        if response.cacheable and status == 200:
            validators = _validators(response)
            headers += validators
            if _not_modified(response, validators, self.headers):
                return 304, headers
        return status, [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))), *headers]


class Universe:
    """Sites served on 127.0.0.{first_host + i}; ports are ephemeral unless
    ``port_base`` is given (then site i listens on ``port_base + i``)."""

    def __init__(self, sites: Iterable[NewsSite], *, first_host: int = 11, port_base: int = 0) -> None:
        self.sites: dict[str, NewsSite] = {}
        for site in sites:
            if site.name in self.sites:
                raise ValueError(f"duplicate site name {site.name!r}")
            self.sites[site.name] = site
        self._first_host = first_host
        self._port_base = port_base
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._hits: list[Hit] = []
        self._hits_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> Universe:
        if self._servers:
            return self
        try:
            for i, site in enumerate(self.sites.values()):
                address = loopback_address(self._first_host + i)
                port = self._port_base + i if self._port_base else 0
                server = _Server((address, port), site, self)
                self._servers.append(server)
                site.base_url = f"http://{address}:{server.server_port}"
                thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                          name=f"universe-{site.name}", daemon=True)
                thread.start()
                self._threads.append(thread)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving; base URLs are kept so logged hits still make sense."""
        servers, self._servers = self._servers, []
        # shutdown() waits up to a poll interval per server: do them together.
        stoppers = [threading.Thread(target=s.shutdown, daemon=True) for s in servers]
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()
        for server in servers:
            server.server_close()
            server.drop_connections()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    @property
    def running(self) -> bool:
        return bool(self._servers)

    def __enter__(self) -> Universe:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- sites ---------------------------------------------------------------

    def base_url(self, name: str) -> str:
        site = self.sites[name]
        if not site.base_url:
            raise RuntimeError("the universe has not been started")
        return site.base_url

    def site_for_url(self, url: str) -> NewsSite | None:
        netloc = urlsplit(url).netloc
        return next((s for s in self.sites.values() if s.base_url and urlsplit(s.base_url).netloc == netloc), None)

    def publish(self, site_name: str, count: int = 1) -> list[str]:
        """New articles on ``site_name`` now, at the top of its listings."""
        return self.sites[site_name].publish(count)

    def reset_faults(self) -> None:
        for site in self.sites.values():
            site.reset_faults()

    def expected_article_urls(self) -> set[str]:
        return set().union(*(s.expected_article_urls() for s in self.sites.values()))

    def all_article_urls(self) -> set[str]:
        return set().union(*(s.all_article_urls() for s in self.sites.values()))

    def sources(self) -> list[dict[str, Any]]:
        return [site.source_entry() for site in self.sites.values()]

    def sources_yaml(self) -> str:
        return yaml.safe_dump({"sources": self.sources()}, allow_unicode=True, sort_keys=False)

    # -- request log ---------------------------------------------------------

    def _record(self, hit: Hit) -> None:
        with self._hits_lock:
            self._hits.append(hit)

    @property
    def hits(self) -> list[Hit]:
        with self._hits_lock:
            return list(self._hits)

    def hits_for(self, site: str) -> list[Hit]:
        with self._hits_lock:
            return [h for h in self._hits if h.site == site]

    def clear_hits(self) -> None:
        with self._hits_lock:
            self._hits.clear()
