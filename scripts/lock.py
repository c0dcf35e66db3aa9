"""Write constraints.txt: the exact version of every package that
``pip install -e '.[test]'`` brings in, as installed in the running Python
environment (``make lock`` runs it with .venv's Python).

Refresh: change pyproject.toml, ``pip install -e '.[test]'`` (or upgrade what
you mean to upgrade) into .venv, run the tests, then ``make lock`` and commit
constraints.txt. The bench extras are not pinned (``make bench-extract``
installs them without constraints)."""
from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("test",)
HEADER = """\
# Exact versions for reproducible installs, written by `make lock`
# (scripts/lock.py) from a working .venv on Linux, Python {python}.
# scripts/setup.sh and the Dockerfile install with `pip install -c constraints.txt`.
# Do not edit by hand: change pyproject.toml, install, test, then `make lock`.
"""


def _wanted(requirement: Requirement, extras: set[str]) -> bool:
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({"extra": extra}) for extra in extras | {""})


def pinned_closure(roots: list[Requirement]) -> dict[str, str]:
    """Installed name -> version of ``roots`` and everything they require
    (with the extras they ask for), on this platform and Python."""
    pins: dict[str, str] = {}
    done: set[tuple[str, frozenset[str]]] = set()
    todo = [(r, frozenset(r.extras)) for r in roots if _wanted(r, set())]
    while todo:
        requirement, extras = todo.pop()
        key = (canonicalize_name(requirement.name), extras)
        if key in done:
            continue
        done.add(key)
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            sys.exit(f"lock: {requirement.name} is required but not installed; pip install -e '.[test]' first")
        pins[dist.metadata["Name"]] = dist.version
        for line in dist.requires or []:
            child = Requirement(line)
            if _wanted(child, set(extras)):
                todo.append((child, frozenset(child.extras)))
    return pins


def main() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    roots = [Requirement(r) for r in project["dependencies"]]
    roots += [Requirement(r) for extra in EXTRAS for r in project["optional-dependencies"][extra]]
    pins = pinned_closure(roots)
    python = ".".join(map(str, sys.version_info[:2]))
    lines = [f"{name}=={version}" for name, version in sorted(pins.items(), key=lambda p: canonicalize_name(p[0]))]
    (ROOT / "constraints.txt").write_text(HEADER.format(python=python) + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"lock: {len(lines)} packages pinned in constraints.txt")


if __name__ == "__main__":
    main()
