"""Routing of updates to the index that holds the article's document."""
from __future__ import annotations

import pytest

from indexer import mapping
from indexer.documents import to_document
from indexer.engines.lifecycle_calls import AliasMember
from indexer.lifecycle import migration_marker, roll_over, setup_index
from indexer.routing import choose_targets, route
from tests.indexer.support import T0, make_article


def _members(write: str, *others: str, marker_on: str | None = None) -> list[AliasMember]:
    def aliases(index: str) -> frozenset[str]:
        return frozenset({"news", migration_marker("news")} if index == marker_on else {"news"})

    return [AliasMember(write, True, aliases(write))] + [AliasMember(i, False, aliases(i)) for i in others]


def test_ids_found_in_an_older_rollover_index_go_there_and_the_rest_to_the_write_alias():
    members = _members("news-v2-000003", "news-v2-000001", "news-v2-000002")
    found = {"a": ["news-v2-000001"], "b": ["news-v2-000003"], "c": ["news-v2-000002", "news-v2-000001"]}
    # b is in the write index already, c's newest copy wins
    assert choose_targets("news", members, found) == {"a": "news-v2-000001", "c": "news-v2-000002"}


def test_outside_a_migration_an_older_generations_document_is_updated_where_it_is():
    members = _members("news-v2-000001", "news-000001")
    assert choose_targets("news", members, {"a": ["news-000001"]}) == {"a": "news-000001"}


def test_during_a_migration_documents_of_older_generations_go_to_the_new_write_index():
    members = _members("news-v2-000001", "news-000001", marker_on="news-v2-000001")
    assert choose_targets("news", members, {"a": ["news-000001"]}) == {}


@pytest.mark.services
def test_an_update_after_a_rollover_lands_on_the_one_existing_document(engine, settings):
    settings = settings.model_copy(update={"index_rollover_max_size": None, "index_rollover_max_docs": 5})
    alias = settings.articles_alias
    first = setup_index(engine, settings).write_index
    docs = [to_document(make_article(n), T0) for n in range(8)]
    assert engine.bulk_index(alias, docs).rejected == []
    assert roll_over(engine, settings) == mapping.index_name(alias, mapping.TEMPLATE_VERSION, 2)
    # not refreshed on purpose: routing must see documents a search would not yet
    update = [to_document(make_article(3, title="Updated"), T0), to_document(make_article(100), T0)]
    targets = route(engine, alias, update)
    assert targets == {update[0]["id"]: first}
    assert engine.bulk_index(alias, update, targets=targets).rejected == []
    engine.refresh(alias)
    assert engine.count(alias) == 9
    assert engine.get(alias, update[0]["id"])["title"] == "Updated"
