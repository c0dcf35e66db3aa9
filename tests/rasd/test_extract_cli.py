"""`rasd extract` and `rasd eval extraction` on small pages: the record the
ingest stage would publish, the exit codes, the table and the JSON report."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from typer.testing import CliRunner

from ingest.models import Article
from rasd.cli import app
from rasd.extract_cli import fetched_page
from tests.ingest.pages import PARAGRAPHS, article_html

runner = CliRunner()
URL = "https://news.example/news/2024/03/talks.html"


def _page(tmp_path: Path, html: str | bytes, name: str = "page.html") -> Path:
    path = tmp_path / name
    path.write_bytes(html.encode("utf-8") if isinstance(html, str) else html)
    return path


def test_extract_prints_the_article_record_with_the_body_as_text(tmp_path):
    page = _page(tmp_path, article_html())
    result = runner.invoke(app, ["extract", str(page), "--url", URL, "--source", "example",
                                 "--content-type", "text/html; charset=utf-8"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["text"] == "\n".join(PARAGRAPHS)
    assert "body" not in record
    # every other field of the Article contract, named as the contract names it
    assert set(record) == (set(Article.model_fields) - {"body"}) | {"text"}
    assert record["source"] == "example" and record["fetched_url"] == URL
    assert record["title"] == "محادثات جديدة بين أذربيجان وأرمينيا"
    assert record["published_at"].startswith("2024-03-05T07:20:00")
    assert record["schema_name"] == "rasd.article"


def test_extract_defaults_the_url_to_the_file(tmp_path):
    page = _page(tmp_path, article_html(canonical=None))
    result = runner.invoke(app, ["extract", str(page)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["fetched_url"] == page.resolve().as_uri() and record["source"] == "manual"


def test_a_page_that_is_not_an_article_prints_the_reason_and_exits_1(tmp_path):
    page = _page(tmp_path, "<html><body><nav><a href='/'>الرئيسية</a></nav><p>قريبا</p></body></html>")
    result = runner.invoke(app, ["extract", str(page), "--url", URL])
    assert result.exit_code == 1
    record = json.loads(result.stdout)
    assert record["error"] == "extraction" and record["reason"] == "empty_extraction"
    assert "minimum" in record["detail"]


def test_a_declared_non_html_type_is_refused_as_the_worker_refuses_it(tmp_path):
    page = _page(tmp_path, b"%PDF-1.7 ...")
    result = runner.invoke(app, ["extract", str(page), "--content-type", "application/pdf"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["reason"] == "not_html"


def test_the_page_is_the_one_the_crawler_would_publish():
    before = datetime.now(timezone.utc)
    page = fetched_page(b"<p>x</p>", URL, source="s", content_type="text/html")
    assert (page.url, page.final_url, page.status, page.source) == (URL, URL, 200, "s")
    assert page.headers == {"content-type": "text/html"} and page.body() == b"<p>x</p>"
    assert page.fetched_at >= before
    assert fetched_page(b"", URL).headers == {}


def _eval_set(tmp_path: Path) -> Path:
    pages = tmp_path / "set" / "pages"
    pages.mkdir(parents=True)
    _page(pages, article_html(), "talks.html")
    (pages / "talks.txt").write_text("\n".join(PARAGRAPHS) + "\n", "utf-8")
    (pages / "talks.json").write_text(json.dumps({
        "title": "محادثات جديدة بين أذربيجان وأرمينيا", "published": "2024-03-05T10:20:00+03:00", "language": "ar",
        "url": URL, "layout": "semantic"}, ensure_ascii=False), "utf-8")
    _page(pages, "<html><body><p>صفحة فارغة</p></body></html>", "empty.html")
    (pages / "empty.txt").write_text("نص لم يستخرج\n", "utf-8")
    return tmp_path / "set"


def test_eval_extraction_prints_a_table_and_writes_the_report(tmp_path):
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["eval", "extraction", str(_eval_set(tmp_path)), "--json-out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["page", "F1", "leaked", "dropped", "merged", "title", "date", "lang"]
    talks = next(line for line in lines if line.startswith("talks"))
    assert talks.split()[:8] == ["talks", "1.000", "0", "0", "0", "yes", "yes", "yes"]
    empty = next(line for line in lines if line.startswith("empty"))
    assert "empty_extraction" in empty
    assert any(line.startswith("pages 2 (errors 1)") for line in lines)
    report = json.loads(out.read_text("utf-8"))
    assert [p["name"] for p in report["pages"]] == ["empty", "talks"]
    assert report["totals"]["dropped_paragraphs"] == 1
    assert report["pages"][0]["score"]["dropped_paragraphs"] == ["نص لم يستخرج"]


def test_eval_extraction_on_a_folder_that_is_not_a_set_exits_2(tmp_path):
    (tmp_path / "orphan.html").write_text("<p>x</p>", "utf-8")
    result = runner.invoke(app, ["eval", "extraction", str(tmp_path)])
    assert result.exit_code == 2
    assert "orphan.txt" in result.stderr
