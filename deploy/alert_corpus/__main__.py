"""Serve the alert corpus sites until Ctrl-C:
``python -m deploy.alert_corpus [--port-base 8860] [--sources-file PATH]``."""
from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from deploy.alert_corpus.sites import corpus_universe, write_sources_file


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.alert_corpus", description=__doc__)
    parser.add_argument("--port-base", type=int, default=0, help="site i listens on PORT_BASE+i (0: ephemeral ports)")
    parser.add_argument("--sources-file", type=Path, help="also write the rasd crawl sources file here")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with corpus_universe(port_base=args.port_base) as universe:
        for name, site in universe.sites.items():
            print(f"{name:14} {site.base_url}/  feed {site.url('/rss.xml')}  sitemap {site.url('/sitemap.xml')}", flush=True)
        if args.sources_file:
            write_sources_file(universe, args.sources_file)
        print("\n# sources file\n" + universe.sources_yaml(), flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
