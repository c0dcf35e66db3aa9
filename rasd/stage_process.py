"""A pipeline stage as its own OS process for the benchmarks
(``python -m rasd.cli ingest|index ...``, settings through the environment),
as the stages run in production: each with its own interpreter, so their
figures are not those of threads sharing one GIL."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil


class StageProcess:
    """One `python -m rasd.cli` process; its stderr goes to a file that is
    shown when it fails."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self.out = log_dir / f"{name}.out"
        with open(self.log, "wb") as err, open(self.out, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "rasd.cli", *args], env=env, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.handle = psutil.Process(self.proc.pid)
        self.cpu_s = 0.0

    def sample_cpu(self) -> None:
        # sampled while it runs: once it has exited its times are gone
        try:
            times = self.handle.cpu_times()
        except psutil.Error:
            return
        self.cpu_s = times.user + times.system

    def failure(self) -> str | None:
        if self.proc.poll() in (None, 0):
            return None
        tail = self.log.read_text(encoding="utf-8", errors="replace")[-500:]
        return f"{self.name} exited with {self.proc.returncode}: {tail}"

    def stats(self) -> dict:
        # the stage prints its stats as (indented) JSON when it stops
        text = self.out.read_text(encoding="utf-8")
        return json.loads(text[text.index("{"):]) if "{" in text else {}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: the stage stops cleanly
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
