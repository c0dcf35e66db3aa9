"""The pipeline's stages as real OS processes (``python -m rasd.cli crawl|
ingest|index``) for the fault tests: started, signalled, restarted, their
JSON logs read back; and the Kafka positions the tests judge them by."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
from kafka import KafkaConsumer, TopicPartition

from ingest.settings import Settings
from rasd.bench_runs import wait_until
from tests.crawlers.support import settings_env

REPO_ROOT = Path(__file__).resolve().parents[1]


def stage_env(settings: Settings) -> dict[str, str]:
    """The environment of a stage process: these settings, JSON logs, and
    this checkout's code (not whatever the venv's editable install points at)."""
    return {
        **os.environ,
        **settings_env(settings),
        "RASD_LOG_JSON": "true",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }


class StageProcess:
    """One stage, ``python -m rasd.cli *args``, run again after every stop;
    each run's stderr (the JSON log) and stdout (the final stats) go to files
    of their own under ``log_dir``."""

    def __init__(self, name: str, args: list[str], settings: Settings, log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = stage_env(settings)
        self.log_dir = log_dir
        self.runs = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is running"
        self.runs += 1
        with open(self.stderr_path(self.runs), "wb") as err, open(self.stdout_path(self.runs), "wb") as out:
            # its own session: the test's terminal signals never reach it
            self.proc = subprocess.Popen([sys.executable, "-m", "rasd.cli", *self.args], env=self.env, cwd=REPO_ROOT,
                                         stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)

    def stderr_path(self, run: int) -> Path:
        return self.log_dir / f"{self.name}-{run}.log"

    def stdout_path(self, run: int) -> Path:
        return self.log_dir / f"{self.name}-{run}.out"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def children(self, marker: str) -> list[psutil.Process]:
        """Live child processes whose command line contains ``marker``."""
        try:
            kids = psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [c for c in kids if _cmdline_has(c, marker)]

    def kill(self) -> int | None:
        """SIGKILL, and reap: returns the exit code (-9)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(30)

    def wait(self, timeout_s: float) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not exit within {timeout_s}s:\n{self.tail()}") from None

    def terminate(self, timeout_s: float) -> tuple[int, float]:
        """SIGTERM; the exit code and the seconds it took to exit."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.wait(timeout_s)
        return code, time.monotonic() - started

    def stop_quietly(self) -> None:
        """Teardown: whatever state it is in, it ends (SIGKILL after a grace)."""
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def events(self, name: str, run: int | None = None) -> Iterator[dict]:
        """The structured log events ``name`` of one run (default: every run)."""
        for r in [run] if run is not None else range(1, self.runs + 1):
            path = self.stderr_path(r)
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if not line.startswith("{"):
                    continue  # Scrapy's own lines, tracebacks
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == name:
                    yield event

    def stats(self, run: int) -> dict:
        """The stats JSON a run printed when it stopped."""
        return json.loads(self.stdout_path(run).read_text(encoding="utf-8"))

    def tail(self, lines: int = 40) -> str:
        if not self.runs:
            return ""
        text = self.stderr_path(self.runs).read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _cmdline_has(proc: psutil.Process, marker: str) -> bool:
    try:
        return marker in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return False


def gone(proc: psutil.Process) -> bool:
    """Exited (a zombie waiting for its reaper counts: it does nothing)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


class Positions:
    """End offsets of topics and committed offsets of groups, summed over
    partitions: how far a stage got, read from Kafka itself."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False)
        self._groups: dict[str, KafkaConsumer] = {}

    def _partitions(self, topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in sorted(self._consumer.partitions_for_topic(topic) or ())]

    def end(self, topic: str) -> int:
        return sum(self._consumer.end_offsets(self._partitions(topic)).values())

    def committed(self, group: str, topic: str) -> int:
        # a consumer that never subscribes only reads the group's offsets
        reader = self._groups.get(group)
        if reader is None:
            reader = self._groups[group] = KafkaConsumer(
                bootstrap_servers=self.settings.kafka_bootstrap_servers, group_id=group, enable_auto_commit=False)
        return sum(reader.committed(tp) or 0 for tp in self._partitions(topic))

    def close(self) -> None:
        for consumer in [self._consumer, *self._groups.values()]:
            consumer.close(autocommit=False)


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str, every_s: float = 0.1) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout_s`` passes (False);
    ``what`` names the wait for the caller's message."""
    return wait_until(condition, timeout_s, every_s)
