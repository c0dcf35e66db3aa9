# The README's two commands.
.PHONY: demo test setup bench bench-crawl bench-alerts

setup:
	@scripts/setup.sh

## Set everything up, start the local stack and run crawl -> extract -> Kafka -> index.
demo: setup
	.venv/bin/rasd demo

## The whole test suite (starts and stops the servers it needs).
test: setup
	.venv/bin/pytest

## Pipeline benchmark on a generated 1,000-article copy of the demo site.
bench: setup
	.venv/bin/rasd bench

## Crawl benchmark: continuous crawlers on 20 generated sites, 10,000 articles.
bench-crawl: setup
	.venv/bin/rasd bench-crawl

## Alert benchmark: indexing with 0 / 1,000 / 10,000 rules, alert and webhook latency.
bench-alerts: setup
	.venv/bin/rasd bench-alerts
