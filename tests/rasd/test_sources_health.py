"""`rasd sources health`: the rates aggregated on a real OpenSearch from
synthetic page outcomes, the flag rules, and the command."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from ingest.engines.client import VendorClient
from ingest.extraction_log import ExtractionLog, PageOutcome
from ingest.identity import document_id
from ingest.settings import Settings
from rasd.cli import app
from rasd.sources_health import SourceRates, judge, parse_span, source_health, span_text

runner = CliRunner()
DAY = timedelta(days=1)


def outcomes(source: str, start: datetime, end: datetime, count: int, *, empty_every: int = 20,
             listing_every: int = 0, body: int = 2300, furniture: int = 2) -> list[PageOutcome]:
    """``count`` pages fetched evenly over [start, end): every ``empty_every``-th
    an empty extraction, every ``listing_every``-th (offset by 5) not an
    article, every 25th article without a date, body lengths around ``body``
    (the same small noise for every source)."""
    step = (end - start) / count
    pages: list[PageOutcome] = []
    for n in range(count):
        url = f"https://{source}.example/news/{start.timestamp():.0f}-{n}.html"
        empty = empty_every > 0 and n % empty_every == 0
        listing = not empty and listing_every > 0 and n % listing_every == 5
        kind = "empty" if empty else "not_article" if listing else "article"
        pages.append(PageOutcome(
            source=source, url=url, page_id=document_id(url), fetched_at=start + step * (n + 0.5),
            classification=kind, reason={"empty": "empty_extraction", "not_article": "not_article"}.get(kind),
            has_title=kind != "empty", has_date=kind == "article" and n % 25 != 1,
            body_chars=0 if empty else body + (n % 7 - 3) * 40, furniture_lines=furniture,
        ))
    return pages


def synthetic(now: datetime) -> list[PageOutcome]:
    """A week of baseline (20 pages a day) and a day of window, per source.
    Pages stay an hour off the window's edges: the command reads the clock a
    little after the test."""
    base_from, base_to = now - 8 * DAY + timedelta(hours=1), now - DAY - timedelta(hours=1)
    win_from, win_to = now - DAY + timedelta(hours=1), now - timedelta(hours=1)
    return [
        *outcomes("steady", base_from, base_to, 140, listing_every=10),
        *outcomes("steady", win_from, win_to, 20, listing_every=10),
        # the redesign: most pages come out empty, the rest carry a teaser only
        *outcomes("redesigned", base_from, base_to, 140),
        *outcomes("redesigned", win_from, win_to, 20, empty_every=2, body=410),
        *outcomes("stopped", base_from, base_to, 140),
        # too few pages in the window to judge, however bad they look
        *outcomes("trickle", base_from, base_to, 140), *outcomes("trickle", win_from, win_to, 4, empty_every=1),
        # before the baseline: not part of the report
        *outcomes("ancient", now - 12 * DAY, now - 9 * DAY, 30),
    ]


@pytest.fixture
def now(settings: Settings, log_client: VendorClient) -> datetime:
    """The moment the report is made, with the synthetic log stored."""
    now = datetime.now(timezone.utc)
    log = ExtractionLog(settings, log_client)
    log.record(synthetic(now))
    log.close()
    log_client.refresh_index(settings.extraction_log_index)
    return now


def env(settings: Settings) -> dict[str, str]:
    return {"RASD_SEARCH_URL": settings.search_url, "RASD_EXTRACTION_LOG_INDEX": settings.extraction_log_index}


def test_a_redesign_and_a_silent_source_are_flagged_a_steady_one_is_not(settings, log_client, now):
    report = {h.source: h for h in source_health(settings, now=now, client=log_client)}
    assert sorted(report) == ["redesigned", "steady", "stopped", "trickle"]

    steady = report["steady"]
    assert steady.flags == [] and steady.notes == []
    assert (steady.window.pages, steady.baseline.pages) == (20, 140)
    assert steady.window.empty_share == pytest.approx(0.05) and steady.baseline.empty_share == pytest.approx(0.05)
    assert steady.window.not_article_share == pytest.approx(0.1) and steady.baseline.not_article_share > 0.09
    assert steady.window.articles == 17 and steady.window.missing_title_share == 0.0
    assert steady.window.missing_date_share == pytest.approx(1 / 17)
    assert steady.window.mean_body_chars == pytest.approx(2300, abs=40)
    assert steady.window.furniture_per_page == 2.0

    redesigned = report["redesigned"]
    assert redesigned.window.empty_share == pytest.approx(0.5)
    assert redesigned.flags == ["empty extractions 5% -> 50%", "mean body 2,300 -> 410 characters"]
    assert redesigned.notes == []

    stopped = report["stopped"]
    assert stopped.window.pages == 0 and stopped.baseline is not None and stopped.baseline.pages == 140
    assert stopped.flags == ["no pages in the window (140 in the baseline, ~20 expected)"]

    trickle = report["trickle"]
    assert trickle.window.empty_share == 1.0 and trickle.flags == []
    assert trickle.notes == ["too few pages to judge: 4 in the window, 140 in the baseline, needs 10"]

    # flagged sources first
    assert [h.source for h in source_health(settings, now=now, client=log_client)] == [
        "redesigned", "stopped", "steady", "trickle"]


def test_no_log_yet_is_an_empty_report(settings, log_client):
    assert source_health(settings, client=log_client) == []


def rates(pages: int = 100, articles: int = 90, *, empty: float = 0.05, not_article: float = 0.05,
          no_title: float = 0.02, no_date: float = 0.1, body: float = 2000.0, furniture: float = 1.0) -> SourceRates:
    return SourceRates(pages, articles, empty, not_article, no_title, no_date, body, furniture)


@pytest.mark.parametrize(
    ("before", "after", "flagged"),
    [
        (rates(empty=0.04), rates(empty=0.63), ["empty extractions 4% -> 63%"]),
        # a 20-point rise that does not double: a busy day of listing pages
        (rates(not_article=0.30), rates(not_article=0.50), []),
        # doubled but only 15 points
        (rates(no_date=0.10), rates(no_date=0.25), []),
        (rates(no_title=0.0), rates(no_title=0.2), ["missing titles 0% -> 20%"]),
        (rates(not_article=0.05), rates(not_article=0.40), ["not articles 5% -> 40%"]),
        (rates(body=2000), rates(body=1100), []),
        (rates(body=2310), rates(body=410), ["mean body 2,310 -> 410 characters"]),
        (rates(body=2000), rates(body=3100), ["mean body 2,000 -> 3,100 characters"]),
        # more than doubled, but less than two lines more
        (rates(furniture=0.5), rates(furniture=1.5), []),
        (rates(furniture=1.0), rates(furniture=3.5), ["furniture 1.0 -> 3.5 lines per page"]),
    ],
)
def test_the_thresholds(before: SourceRates, after: SourceRates, flagged: list[str]) -> None:
    flags, notes = judge(after, before, expected_pages=100)
    assert (flags, notes) == (flagged, [])


def test_too_few_articles_leave_titles_dates_and_length_unjudged() -> None:
    flags, notes = judge(rates(articles=6, empty=0.7, body=300), rates(), expected_pages=100)
    assert flags == ["empty extractions 5% -> 70%"]
    assert notes == ["too few articles to judge titles, dates and length: 6 in the window, 90 in the baseline, "
                     "needs 10"]


def test_silence_is_flagged_only_when_pages_were_expected() -> None:
    empty = rates(0, 0, empty=0, not_article=0, no_title=0, no_date=0, body=0, furniture=0)
    assert judge(empty, rates(pages=70), expected_pages=10)[0] == [
        "no pages in the window (70 in the baseline, ~10 expected)"]
    flags, notes = judge(empty, rates(pages=3, articles=3), expected_pages=0.4)
    assert flags == [] and "no pages in the window" in notes[0]
    flags, notes = judge(rates(), None, expected_pages=0)
    assert flags == [] and notes == ["no baseline to compare with: a new source?"]


def test_durations() -> None:
    assert [parse_span(v) for v in ("30m", "24h", "7d", "90")] == [1800, 86400, 7 * 86400, 90]
    for bad in ("0", "soon", "-1h"):
        with pytest.raises(ValueError):
            parse_span(bad)
    assert [span_text(s) for s in (1800, 86400, 36 * 3600, 2 * 86400, 7 * 86400, 90)] == [
        "30m", "24h", "36h", "2d", "7d", "90s"]


def test_the_command_prints_a_table_with_the_flags(settings, log_client, now):
    result = runner.invoke(app, ["sources", "health", "--window", "24h", "--baseline", "7d"], env=env(settings))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["source", "pages", "empty"]
    rows = {line.lstrip("! ").split()[0]: line for line in lines[1:5]}
    assert rows["redesigned"].startswith("!") and "empty extractions 5% -> 50%" in rows["redesigned"]
    assert rows["stopped"].startswith("!") and "no pages in the window" in rows["stopped"]
    assert not rows["steady"].startswith("!") and rows["steady"].split()[1:4] == ["20", "5%", "10%"]
    assert "(too few pages to judge: 4 in the window, 140 in the baseline, needs 10)" in rows["trickle"]
    assert "4 source(s), 2 flagged (last 24h against the 7d before" in result.stdout


def test_the_command_prints_json_for_scripts(settings, log_client, now):
    result = runner.invoke(app, ["sources", "health", "--json"], env=env(settings))
    assert result.exit_code == 0, result.output
    report = {entry["source"]: entry for entry in json.loads(result.stdout)}
    assert report["redesigned"]["flagged"] is True and report["steady"]["flagged"] is False
    assert report["steady"]["window"]["pages"] == 20 and report["steady"]["baseline"]["pages"] == 140
    assert report["stopped"]["window"]["pages"] == 0
    # a window of 12 hours against the 3 days before it: half of the last day's
    # pages are in the window, the other half and 50 of the week's in the baseline
    narrow = runner.invoke(app, ["sources", "health", "--json", "--window", "12h", "--baseline", "3d"],
                           env=env(settings))
    steady = next(e for e in json.loads(narrow.stdout) if e["source"] == "steady")
    assert steady["window"]["pages"] == 10 and steady["baseline"]["pages"] == 10 + 50


def test_the_command_says_when_the_engine_is_down_and_exits_1(settings):
    result = runner.invoke(app, ["sources", "health"], env=env(settings) | {"RASD_SEARCH_URL": "http://127.0.0.1:9"})
    assert result.exit_code == 1
    assert "rasd sources health: cannot read the extraction log" in result.stderr
    assert "no search engine reachable at http://127.0.0.1:9" in result.stderr


def test_the_command_refuses_a_bad_duration(settings):
    result = runner.invoke(app, ["sources", "health", "--window", "soon"], env=env(settings))
    assert result.exit_code == 2 and "bad duration" in result.output
