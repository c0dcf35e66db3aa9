import itertools
import os
import time

import pytest

from crawlers.sources import Source, SourcesFileError, SourcesWatcher, listing_urls

ONE = """
sources:
  - name: daily
    feeds: [https://daily.example/rss]
"""
TWO = ONE + """
  - name: weekly
    homepage: https://weekly.example/
"""
BROKEN = """
sources:
  - name: daily
    feeds: [not-a-url]
"""


_seconds_ahead = itertools.count(10, 10)


def write(path, text):
    """Write and move the mtime forward, so the change is seen even within one clock tick."""
    path.write_text(text, encoding="utf-8")
    mtime_ns = time.time_ns() + next(_seconds_ahead) * 1_000_000_000
    os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.fixture
def sources_file(tmp_path):
    path = tmp_path / "sources.yaml"
    write(path, ONE)
    return path


def test_watcher_picks_up_an_edit(sources_file):
    watcher = SourcesWatcher(sources_file)
    assert [s.name for s in watcher.sources] == ["daily"]
    assert watcher.poll() is False  # nothing changed yet
    write(sources_file, TWO)
    assert watcher.poll() is True
    assert [s.name for s in watcher.sources] == ["daily", "weekly"]


def test_a_broken_edit_keeps_the_last_good_sources(sources_file):
    watcher = SourcesWatcher(sources_file)
    write(sources_file, BROKEN)
    assert watcher.poll() is False
    assert [s.feeds for s in watcher.sources] == [["https://daily.example/rss"]]
    assert str(sources_file) in watcher.last_error
    assert "not an absolute http(s) URL" in watcher.last_error
    # fixing the file clears the error and applies the edit
    write(sources_file, TWO)
    assert watcher.poll() is True
    assert watcher.last_error is None


def test_a_touch_without_a_change_is_not_a_change(sources_file):
    watcher = SourcesWatcher(sources_file)
    write(sources_file, ONE)
    assert watcher.poll() is False
    assert watcher.last_error is None


def test_watcher_needs_a_valid_file_to_start(tmp_path):
    path = tmp_path / "sources.yaml"
    write(path, BROKEN)
    with pytest.raises(SourcesFileError):
        SourcesWatcher(path)


def test_a_homepage_alone_is_a_valid_source():
    source = Source(name="weekly", homepage="https://Weekly.example/")
    assert source.allowed_domains == ["weekly.example"]


def test_homepage_must_be_an_http_url():
    with pytest.raises(ValueError, match="not an absolute http"):
        Source(name="weekly", homepage="weekly.example")


def test_homepage_source_lists_the_homepage_and_its_robots_txt():
    source = Source(name="weekly", homepage="https://weekly.example/ar/")
    assert listing_urls(source) == [
        ("homepage", "https://weekly.example/ar/"),
        ("robots", "https://weekly.example/robots.txt"),
    ]


def test_robots_txt_given_as_a_sitemap_is_listed_once_as_robots():
    source = Source(
        name="daily",
        homepage="https://daily.example/",
        sitemaps=["https://daily.example/robots.txt", "https://daily.example/sitemap.xml"],
    )
    assert listing_urls(source) == [
        ("homepage", "https://daily.example/"),
        ("robots", "https://daily.example/robots.txt"),
        ("sitemap", "https://daily.example/sitemap.xml"),
    ]
