"""What the manager needs to know about one server of the local stack."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingest.settings import Settings


@dataclass
class Launch:
    """A prepared server start: command, environment and working folder."""

    argv: list[str]
    cwd: Path
    env: Mapping[str, str] | None = None


class Service(Protocol):
    name: str

    def ports(self, settings: Settings) -> list[int]: ...

    def endpoint(self, settings: Settings) -> str: ...

    def prepare(self, settings: Settings, cache: Path, state: Path) -> Launch:
        """Write config, format storage, and return how to start the server."""
        ...

    def log_files(self, state: Path) -> list[Path]:
        """Files worth showing when the server dies during start-up."""
        ...

    def data_dirs(self, state: Path) -> list[Path]:
        """Every folder holding this server's data (removed by ``wipe``)."""
        ...

    def healthy(self, settings: Settings) -> bool:
        """Cheap check that the server answers and is usable."""
        ...

    def ready(self, settings: Settings) -> bool:
        """Full start-up check (may be slower than ``healthy``)."""
        ...
