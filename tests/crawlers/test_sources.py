from pathlib import Path

import pytest

from crawlers.sources import Source, SourcesFileError, load_sources

EXAMPLE = Path(__file__).resolve().parents[2] / "crawlers" / "sources.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_example_file_loads():
    sources = load_sources(EXAMPLE)
    assert len(sources) >= 2
    assert all(s.homepage or s.feeds or s.sitemaps or s.sections for s in sources)
    assert any(s.homepage and not (s.feeds or s.sitemaps or s.sections) for s in sources)


def test_allowed_domains_are_the_hosts_of_every_configured_url():
    source = Source(
        name="daily",
        feeds=["https://Daily.Example/feed/"],
        sitemaps=["https://cdn.daily.example/sitemap.xml"],
        sections=["https://daily.example/politics/"],
    )
    assert source.allowed_domains == ["daily.example", "cdn.daily.example"]
    assert source.owns_host("www.daily.example")
    assert not source.owns_host("notdaily.example")


def test_loads_all_fields_from_yaml(tmp_path):
    path = write(
        tmp_path,
        """
sources:
  - name: daily
    feeds: [https://daily.example/rss]
    sections: [https://daily.example/economy/]
    article_pattern: "/20\\\\d\\\\d/"
    download_delay_s: 1.5
    concurrency: 2
""",
    )
    (source,) = load_sources(path)
    assert source.download_delay_s == 1.5 and source.concurrency == 2
    assert source.article_regex().search("https://daily.example/2024/05/x")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("sources: [\n", "not valid YAML"),
        ("- just a list", "expected a mapping"),
        ("sources: []", "sources"),
        ("sources:\n  - name: a\n", "source 'a' (entry 1): Value error, source 'a' has no homepage, feeds, sitemaps or sections"),
        ("sources:\n  - name: a\n    homepage: news.example\n", "source 'a' (entry 1), field homepage: Value error, not an absolute"),
        ("sources:\n  - feeds: [http://x.example/f]\n", "source entry 1, field name: Field required"),
        ("sources:\n  - name: a\n    feeds: [ftp://x.example/f]\n", "not an absolute http(s) URL"),
        ("sources:\n  - name: a\n    feeds: [/relative/feed]\n", "not an absolute http(s) URL"),
        ("sources:\n  - name: a\n    feeds: [http://x.example/f]\n    article_pattern: '(['\n", "not a valid regex"),
        ("sources:\n  - name: a\n    feeds: [http://x.example/f]\n    concurrency: 0\n", "source 'a' (entry 1), field concurrency: Input should be greater than or equal to 1"),
        ("sources:\n  - name: a\n    feeds: [http://x.example/f]\n    colour: red\n", "source 'a' (entry 1), field colour: Extra inputs are not permitted"),
        (
            "sources:\n  - name: a\n    feeds: [http://x.example/f]\n  - name: a\n    feeds: [http://y.example/f]\n",
            "duplicate source names: ['a']",
        ),
    ],
)
def test_bad_sources_file_gives_a_clear_error_naming_the_file(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SourcesFileError) as info:
        load_sources(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_missing_sources_file_is_a_sources_file_error(tmp_path):
    with pytest.raises(SourcesFileError, match="cannot read sources file"):
        load_sources(tmp_path / "nope.yaml")
