"""``python -m indexer``: run the indexer with settings from the environment
(RASD_*). The ``rasd`` CLI is the usual front door; this entry exists so the
indexer can run as a bare process (supervisors, crash tests)."""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from ingest.logs import configure_logging
from ingest.settings import Settings
from indexer.engines.detect import open_configured_engine
from indexer.worker import run_indexer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indexer", description=__doc__)
    parser.add_argument("--idle-exit-s", type=float, default=None, help="stop after this long without records")
    parser.add_argument("--max-batches", type=int, default=None, help="stop after committing this many batches")
    args = parser.parse_args(argv)

    settings = Settings()
    configure_logging(settings.log_level, settings.log_json)
    stop = threading.Event()
    # SIGTERM finishes the batch in flight, commits it, then exits.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = open_configured_engine(settings)
    try:
        stats = run_indexer(settings, engine, stop=stop, idle_exit_s=args.idle_exit_s, max_batches=args.max_batches)
    finally:
        engine.close()
    print(f"indexed={stats.indexed} dead_lettered={stats.dead_lettered} batches={stats.batches}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
