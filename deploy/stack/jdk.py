"""Pick a Java runtime for each server by reading JDKs' ``release`` files,
so no install folder name is ever hard-coded."""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from deploy.stack.errors import StackError

DEFAULT_JVM_ROOTS = (Path("/usr/lib/jvm"),)


class JavaNotFoundError(StackError):
    """No Java runtime satisfying a server's minimum version."""


@dataclass(frozen=True)
class Jdk:
    home: Path
    major: int

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"


def parse_major(version: str) -> int | None:
    """'17.0.15' -> 17, '25' -> 25, '1.8.0_402' -> 8."""
    m = re.match(r"\s*(\d+)(?:\.(\d+))?", version)
    if not m:
        return None
    first = int(m.group(1))
    if first == 1 and m.group(2) is not None:
        return int(m.group(2))
    return first


def read_release(home: Path) -> int | None:
    """Major version from ``<home>/release`` (JAVA_VERSION="..."), or None."""
    try:
        text = (home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    m = re.search(r'^JAVA_VERSION="?([^"\n]+)"?', text, re.MULTILINE)
    return parse_major(m.group(1)) if m else None


def installed_jdks(roots: tuple[Path, ...] = DEFAULT_JVM_ROOTS) -> list[Jdk]:
    """Every JDK under ``roots`` that has a release file and an executable java.
    Symlinked aliases of one JDK are reported once."""
    found: dict[Path, Jdk] = {}
    for root in roots:
        if not root.is_dir():
            continue
        for home in sorted(root.iterdir()):
            major = read_release(home)
            java = home / "bin" / "java"
            if major is None or not os.access(java, os.X_OK):
                continue
            found.setdefault(home.resolve(), Jdk(home=home, major=major))
    return list(found.values())


def default_jdk() -> Jdk | None:
    """The JDK of JAVA_HOME or of ``java`` on PATH, when its release file is readable."""
    candidates: list[Path] = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    for home in candidates:
        major = read_release(home)
        if major is not None and os.access(home / "bin" / "java", os.X_OK):
            return Jdk(home=home, major=major)
    return None


def find_jdk(min_major: int, roots: tuple[Path, ...] = DEFAULT_JVM_ROOTS, *, prefer_default: bool = True) -> Jdk:
    """The default JDK (JAVA_HOME or ``java`` on PATH) if new enough, else the
    newest JDK installed under ``roots`` that is at least ``min_major``."""

    def fits(j: Jdk) -> bool:
        return j.major >= min_major

    if prefer_default:
        default = default_jdk()
        if default and fits(default):
            return default
    usable = [j for j in installed_jdks(roots) if fits(j)]
    if not usable:
        seen = ", ".join(f"{j.home} (Java {j.major})" for j in installed_jdks(roots)) or "none"
        raise JavaNotFoundError(
            f"need a Java {min_major}+ runtime; JDKs found under {', '.join(map(str, roots))}: {seen}. "
            f"Install one (e.g. a Temurin JDK) under /usr/lib/jvm or set JAVA_HOME."
        )
    return max(usable, key=lambda j: (j.major, str(j.home)))
