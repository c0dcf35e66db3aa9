"""`rasd index setup` and `rasd index migrate` on the real OpenSearch."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from indexer import mapping
from indexer.documents import to_document
from indexer.engines.detect import open_engine
from rasd.cli import app
from tests.indexer.conftest import _drop_alias
from tests.indexer.support import T0, make_article, settings_env

pytestmark = pytest.mark.services
runner = CliRunner()


def test_index_setup_is_idempotent_and_migrate_moves_an_older_generation(settings, opensearch_url):
    alias = settings.articles_alias
    env = settings_env(settings)
    engine = open_engine(opensearch_url, timeout_s=30.0)
    try:
        legacy = f"{alias}-000001"
        engine.create_index(legacy, {"aliases": {alias: {"is_write_index": True}}})
        engine.bulk_index(alias, [to_document(make_article(n), T0) for n in range(3)])
        for _ in range(2):
            result = runner.invoke(app, ["index", "setup"], env=env)
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout.strip().splitlines()[-1]) == {"write_index": legacy, "lifecycle": "indexer"}
        result = runner.invoke(app, ["index", "migrate"], env=env)
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout[result.stdout.index("{"):])
        assert report["write_index"] == mapping.first_index(alias) and report["deleted"] == [legacy]
        assert report["copied"] == 3
    finally:
        engine.close()
        _drop_alias(opensearch_url, alias)
