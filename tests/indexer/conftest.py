from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import urllib3

from ingest.settings import Settings
from indexer.engines.base import SearchEngine
from indexer.engines.detect import open_engine
from indexer.mapping import template_name

ENGINES = ("opensearch", "elasticsearch")


def _drop_alias(url: str, alias: str) -> None:
    """Delete the test's indices (by name: Elasticsearch refuses wildcard
    deletes) and its template."""
    http = urllib3.PoolManager(timeout=30.0, retries=False)
    try:
        found = http.request("GET", f"{url}/_alias/{alias}")
        if found.status == 200:
            for index in json.loads(found.data):
                http.request("DELETE", f"{url}/{index}")
        http.request("DELETE", f"{url}/_index_template/{template_name(alias)}")
    finally:
        http.clear()


@pytest.fixture(params=ENGINES)
def engine_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def _engine_for_test(url: str, settings: Settings) -> Iterator[SearchEngine]:
    """An engine on ``url``; the test's indices go when the test ends."""
    engine = open_engine(url, timeout_s=30.0)
    yield engine
    engine.close()
    _drop_alias(url, settings.articles_alias)


@pytest.fixture
def engine(engine_url: str, settings: Settings) -> Iterator[SearchEngine]:
    yield from _engine_for_test(engine_url, settings)


@pytest.fixture
def opensearch_engine(opensearch_url: str, settings: Settings) -> Iterator[SearchEngine]:
    yield from _engine_for_test(opensearch_url, settings)


@pytest.fixture
def alias(settings: Settings) -> str:
    return settings.articles_alias
