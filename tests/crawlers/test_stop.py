"""Stopping `rasd crawl` the ways users do: SIGTERM (docker stop, kill),
Ctrl-C in a terminal (SIGINT to the whole foreground process group), and
the parent dying outright. The crawl must end cleanly each time: spider
closed, Kafka flushed, no orphan process, no temporary folder left."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from ingest.models import FetchedPage
from tests.crawlers.site import TITLES, TestSite
from tests.crawlers.support import quick, settings_env, wait_until
from tests.crawlers.topics import read_topic

pytestmark = pytest.mark.services
RASD = str(Path(sys.executable).with_name("rasd"))


def _start(settings, test_site: TestSite, tmp_path: Path) -> subprocess.Popen[str]:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - name: test-site\n    feeds: [{test_site.feed_url}]\n    sections: [{test_site.section_url}]\n"
        "    article_pattern: /news/\n    download_delay_s: 0.3\n",
        encoding="utf-8",
    )
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, **settings_env(quick(settings)), "TMPDIR": str(tmp)}
    # its own process group, like a job started from a shell
    return subprocess.Popen(
        [RASD, "crawl", "--sources", str(sources)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _crawl_children(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    return [c for c in psutil.Process(proc.pid).children(recursive=True) if "crawlers.run" in " ".join(c.cmdline())]


def _fetched_some(test_site: TestSite) -> bool:
    return sum(test_site.path_hits(f"/news/{n}.html") for n in TITLES) >= 2


def _check_clean_exit(proc: subprocess.Popen[str], children: list[psutil.Process], tmp_path: Path, settings, test_site) -> dict:
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, out
    report = json.loads(out)
    # Scrapy closed the spider itself: its stats were collected and reported
    assert report["finish_reason"] == "shutdown"
    assert report["publish_errors"] == 0
    for child in children:
        wait_until(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, 10, "crawl child gone")
    assert not list((tmp_path / "tmp").iterdir()), "temporary folder left behind"
    # everything fetched reached Kafka (the final flush happened)
    pages = read_topic(settings, settings.topic_pages, FetchedPage)
    assert len(pages) == report["pages_published"] > 0
    return report


def test_sigterm_stops_the_crawl_cleanly(settings, test_site: TestSite, tmp_path: Path):
    proc = _start(settings, test_site, tmp_path)
    wait_until(lambda: _fetched_some(test_site), 90, "first articles fetched")
    children = _crawl_children(proc)
    assert len(children) == 1
    proc.send_signal(signal.SIGTERM)
    _check_clean_exit(proc, children, tmp_path, settings, test_site)


def test_ctrl_c_in_a_terminal_stops_the_crawl_cleanly(settings, test_site: TestSite, tmp_path: Path):
    proc = _start(settings, test_site, tmp_path)
    wait_until(lambda: _fetched_some(test_site), 90, "first articles fetched")
    children = _crawl_children(proc)
    # the terminal sends SIGINT to the foreground process group
    os.killpg(proc.pid, signal.SIGINT)
    _check_clean_exit(proc, children, tmp_path, settings, test_site)


def test_a_killed_parent_leaves_no_orphan_crawl(settings, test_site: TestSite, tmp_path: Path):
    proc = _start(settings, test_site, tmp_path)
    wait_until(lambda: _fetched_some(test_site), 90, "first articles fetched")
    children = _crawl_children(proc)
    assert children
    proc.kill()
    proc.wait(10)
    for child in children:
        # the kernel tells the child its parent died; it stops on its own
        wait_until(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, 90, "orphan crawl stopped")
    # and removes the temporary folder (the job's settings) its parent can no longer remove
    assert not list((tmp_path / "tmp").iterdir()), "temporary folder left behind"


def test_a_continuous_crawl_without_its_status_index_engine_fails_with_a_clear_error(settings, test_site: TestSite):
    import socket

    from crawlers.run import CrawlError, crawl
    from crawlers.sources import Source

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    bad = quick(settings, search_url=f"http://127.0.0.1:{closed}")
    with pytest.raises(CrawlError, match="no search engine reachable"):
        crawl(bad, [Source(name="t", feeds=[test_site.feed_url])], continuous=True, timeout_s=120)
