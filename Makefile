# The README's two commands.
.PHONY: demo test setup lock bench bench-steady bench-scale bench-crawl bench-alerts bench-extract bench-ingest bench-index

setup:
	@scripts/setup.sh

## Set everything up, start the local stack and run crawl -> extract -> Kafka -> index.
demo: setup
	.venv/bin/rasd demo

## The whole test suite (starts and stops the servers it needs).
test: setup
	.venv/bin/pytest

## Pin the exact versions installed in .venv (the project's and test dependencies)
## into constraints.txt, which setup and the Dockerfile install from.
lock: setup
	.venv/bin/python scripts/lock.py

## Pipeline benchmark on a generated 1,000-article copy of the demo site.
bench: setup
	.venv/bin/rasd bench

## The same, then articles published at half the measured rate for 3 minutes: served -> searchable latency.
bench-steady: setup
	.venv/bin/rasd bench --steady

## Scale benchmark: one ingest worker and one indexer process, then two of each, on the same 2,000 pages.
bench-scale: setup
	.venv/bin/rasd bench-scale

## Crawl benchmark: continuous crawlers on 20 generated sites, 10,000 articles.
bench-crawl: setup
	.venv/bin/rasd bench-crawl

## Alert benchmark: indexing with 0 / 1,000 / 10,000 rules, alert and webhook latency.
bench-alerts: setup
	.venv/bin/rasd bench-alerts

## Extraction benchmark: rasd vs bare trafilatura, readability-lxml and newspaper4k (speed and quality).
bench-extract: setup
	.venv/bin/pip install -q -e '.[bench]'
	.venv/bin/rasd bench-extract

## Ingest benchmark: one ingest worker vs bare trafilatura on the same pages, two workers vs one.
bench-ingest: setup
	.venv/bin/rasd bench-ingest

## Indexer benchmark: indexer docs/s vs a raw _bulk of the same documents, OpenSearch and Elasticsearch.
bench-index: setup
	.venv/bin/rasd bench-index
