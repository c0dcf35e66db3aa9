"""Serve the fixture universe (or a generated one) until Ctrl-C:
``python -m deploy.universe [--port-base 8800] [--generated HOSTS ARTICLES]``."""
from __future__ import annotations

import argparse
import signal
import threading

from deploy.universe import fixture_universe, generated_universe


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m deploy.universe", description=__doc__)
    parser.add_argument("--port-base", type=int, default=0, help="site i listens on PORT_BASE+i (0: ephemeral ports)")
    parser.add_argument("--generated", nargs=2, type=int, metavar=("HOSTS", "ARTICLES"),
                        help="serve a generated benchmark universe instead of the fixture sites")
    args = parser.parse_args(argv)
    if args.generated:
        universe = generated_universe(*args.generated, port_base=args.port_base)
    else:
        universe = fixture_universe(port_base=args.port_base)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with universe:
        for name, site in universe.sites.items():
            print(f"{name:12} {site.language:3} {site.base_url}/", flush=True)
        print("\n# sources file\n" + universe.sources_yaml(), flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
