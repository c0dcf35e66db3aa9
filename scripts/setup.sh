#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Python environment, test tools and
# the local stack's servers (downloaded from Maven Central into .rasd-stack/).
# Called by `make demo` and `make test`; safe to run again (reuses downloads).
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is required: $2" >&2; exit 1; }; }
need python3 "Python 3.11+"
need java "a JDK 17 (Kafka, OpenSearch); Elasticsearch also needs a JDK 21+ under /usr/lib/jvm"
need mvn "Apache Maven 3.8+ (downloads the servers from Maven Central)"

# docker-compose validates docker-compose.yml in the tests (no Docker engine needed).
if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's docker-compose (compose file validation)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  else
    echo "setup: please install docker-compose (e.g. 'sudo apt-get install docker-compose')" >&2; exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
# Reinstall only when pyproject.toml or the lock (constraints.txt: exact
# versions, `make lock`) changed since the last install.
stamp=.venv/.rasd-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  echo "setup: installing Python dependencies (versions from constraints.txt)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[test]'
  touch "$stamp"
fi

echo "setup: fetching the local stack (cached after the first time)"
.venv/bin/rasd stack fetch
