from __future__ import annotations

import http.server
import socket
import threading

import pytest

from indexer import mapping
from indexer.engines.base import EngineError, EngineUnavailable, SearchEngine
from indexer.engines.detect import open_engine
from indexer.engines.elasticsearch import ElasticsearchEngine
from indexer.engines.opensearch import OpenSearchEngine


@pytest.mark.services
@pytest.mark.parametrize(
    ("url_fixture", "adapter", "version_prefix", "arabic"),
    [
        ("opensearch_url", OpenSearchEngine, "2.19", True),
        # the integ-test-zip distribution has no analysis-common module: the
        # stack's rasd-analysis plugin provides the arabic analyzer and filters
        ("elasticsearch_url", ElasticsearchEngine, "9.", True),
    ],
)
def test_each_engine_gets_its_own_adapter_and_its_arabic_analysis_is_probed(
    request, url_fixture, adapter, version_prefix, arabic
):
    engine = open_engine(request.getfixturevalue(url_fixture))
    try:
        assert isinstance(engine, adapter) and isinstance(engine, SearchEngine)
        assert engine.distribution == adapter.distribution and engine.version.startswith(version_prefix)
        assert engine.has_arabic_analysis() is arabic
        # every filter and char filter of the analysis chains is there
        assert engine.available_filters() == frozenset(mapping.CANDIDATE_FILTERS + mapping.CANDIDATE_CHAR_FILTERS)
    finally:
        engine.close()


def test_unreachable_url_raises_a_clear_retryable_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(EngineUnavailable, match="no search engine reachable at " + url) as info:
        open_engine(url)
    assert info.value.retryable


def test_a_web_server_that_is_not_a_search_engine_is_refused():
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>hello</html>")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(EngineError, match="is not a search engine") as info:
            open_engine(f"http://127.0.0.1:{server.server_port}")
        assert not info.value.retryable
    finally:
        server.shutdown()
        server.server_close()
