from __future__ import annotations

import http.server
import socket
import threading

import pytest

from indexer.engines.base import EngineError, EngineUnavailable, SearchEngine
from indexer.engines.detect import open_engine
from indexer.engines.elasticsearch import ElasticsearchEngine
from indexer.engines.opensearch import OpenSearchEngine


@pytest.mark.services
def test_opensearch_gets_the_opensearch_adapter_with_arabic_analysis(opensearch_url):
    engine = open_engine(opensearch_url)
    try:
        assert isinstance(engine, OpenSearchEngine) and isinstance(engine, SearchEngine)
        assert engine.distribution == "opensearch" and engine.version.startswith("2.19")
        assert engine.has_arabic_analysis()
    finally:
        engine.close()


@pytest.mark.services
def test_elasticsearch_gets_the_elasticsearch_adapter_and_the_minimal_build_lacks_arabic(elasticsearch_url):
    engine = open_engine(elasticsearch_url)
    try:
        assert isinstance(engine, ElasticsearchEngine) and isinstance(engine, SearchEngine)
        assert engine.distribution == "elasticsearch" and engine.version.startswith("9.")
        # the integ-test-zip distribution has no analysis-common module
        assert not engine.has_arabic_analysis()
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
