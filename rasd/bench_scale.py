"""Scale benchmark (`rasd bench-scale`, `make bench-scale`): the same pages
through one ingest worker process and one indexer process, then through two
of each in the same consumer groups, each run on fresh topics and a fresh
index. Prints pages/s end to end (processes started -> last document
searchable, and from the first document searchable to the last), the ratio,
and how busy the machine's cores were. Asserts nothing about speed.

The pages are produced to the pages topic before the processes start (as
`rasd bench-ingest` does), so the crawler is not part of the figures; the
processes are `python -m rasd.cli ingest --drain` and `python -m rasd.cli
index`, given their settings through the environment."""
from __future__ import annotations

import os
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from deploy.stack import manager
from indexer.engines.detect import open_configured_engine
from ingest.kafka_io import ensure_topics
from ingest.progress import Progress, Snapshot
from ingest.settings import Settings
from rasd.bench_ingest import Corpus, page_messages, produce_pages
from rasd.bench_runs import drop_run
from rasd.stage_process import StageProcess

# Four partitions: two consumers of a group get two each (three would split 2:1).
PARTITIONS = 4


@dataclass
class ScaleRun:
    per_stage: int
    pages: int
    articles: int
    documents: int
    # processes started -> last document searchable
    seconds: float
    # first documents searchable -> last, and how many came after the first
    steady_s: float
    steady_documents: int
    # share of the machine's cores busy during the run (every process)
    machine_busy: float
    # CPU seconds of each stage process, "ingest-1" -> seconds
    cpu_s: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def pages_per_s(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0

    @property
    def steady_pages_per_s(self) -> float:
        return self.steady_documents / self.steady_s if self.steady_s else 0.0


def _busy() -> tuple[float, float]:
    times = psutil.cpu_times()
    total = sum(times)
    return total - times.idle - getattr(times, "iowait", 0.0), total


def _run(base: Settings, messages: list[bytes], per_stage: int, engine_url: str, timeout_s: float) -> ScaleRun:
    s = base.namespaced(f"bs{uuid.uuid4().hex[:6]}").model_copy(
        update={"search_url": engine_url, "topic_partitions": PARTITIONS})
    stages: list[StageProcess] = []
    # searchable of the articles once the ingest workers are done, of the pages
    # until then (started once the loop below has both counts)
    progress = Progress("bench_scale", lambda: Snapshot(documents, expected or len(messages),
                                                        {"processes_per_stage": per_stage}),
                        s.progress_interval_s, unit="searchable")
    try:
        ensure_topics(s)
        produce_pages(s, messages)
        engine = open_configured_engine(s, engine_url)
        engine.ensure_index(s.articles_alias)  # outside the timing: a one-off
        env = s.child_environment(os.environ)
        with tempfile.TemporaryDirectory(prefix="rasd-bench-scale-") as tmp:
            busy0, total0 = _busy()
            t0 = time.monotonic()
            ingest = [StageProcess(f"ingest-{i + 1}", ["ingest", "--drain"], env, Path(tmp)) for i in range(per_stage)]
            index = [StageProcess(f"index-{i + 1}", ["index"], env, Path(tmp)) for i in range(per_stage)]
            stages = ingest + index
            first = last = None
            documents = first_count = 0
            expected: int | None = None
            failures: list[str] = []
            deadline = t0 + timeout_s
            progress.start()
            while time.monotonic() < deadline:
                for stage in stages:
                    stage.sample_cpu()
                failures = [f for f in (stage.failure() for stage in stages) if f]
                if failures:
                    break
                if expected is None and all(stage.proc.poll() == 0 for stage in ingest):
                    # every page extracted: the articles the indexers must make searchable
                    expected = sum(stage.stats().get("articles", 0) for stage in ingest)
                count = engine.count(s.articles_alias)
                now = time.monotonic()
                if count > documents:
                    if first is None:
                        first, first_count = now, count
                    documents, last = count, now
                if expected is not None and documents >= expected:
                    break
                time.sleep(0.2)
            busy1, total1 = _busy()
            progress.stop()
            for stage in index:
                stage.stop()
            if expected is None:
                failures.append(f"the ingest workers did not drain the pages within {timeout_s:.0f} s")
            elif documents < expected:
                failures.append(f"{documents} of {expected} articles searchable after {timeout_s:.0f} s")
            engine.close()
            return ScaleRun(
                per_stage=per_stage, pages=len(messages), articles=expected or 0, documents=documents,
                seconds=(last or time.monotonic()) - t0, steady_s=(last - first) if first and last else 0.0,
                steady_documents=documents - first_count,
                machine_busy=(busy1 - busy0) / max(total1 - total0, 1e-9),
                cpu_s={stage.name: stage.cpu_s for stage in stages}, failures=failures,
            )
    finally:
        progress.stop()
        for stage in stages:
            stage.stop()
        drop_run(s)


def _run_lines(run: ScaleRun, cores: int) -> list[str]:
    cpu = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in run.cpu_s.items())
    steady = (f"{run.steady_pages_per_s:6.1f} pages/s from the first searchable to the last" if run.steady_s
              else "all became searchable at once")
    lines = [
        f"  {run.per_stage} ingest + {run.per_stage} indexer process{'es' if run.per_stage > 1 else ''}:"
        f" {run.pages_per_s:6.1f} pages/s end to end ({run.documents}/{run.articles} articles searchable"
        f" {run.seconds:.1f} s after the processes started), {steady}",
        f"      machine {100 * run.machine_busy:.0f}% busy ({run.machine_busy * cores:.2f} of {cores} cores);"
        f" CPU: {cpu}",
    ]
    if run.failures:
        lines.append(f"      FAILURES: {run.failures}")
    return lines


def scale_runs(base: Settings, pages: int, engine_url: str, timeout_s: float) -> tuple[ScaleRun, ScaleRun]:
    """One of each stage, then two of each, on the same generated pages."""
    messages = page_messages(Corpus.of("generated", ("generated", pages)))
    one = _run(base, messages, 1, engine_url, timeout_s)
    two = _run(base, messages, 2, engine_url, timeout_s)
    return one, two


def report(one: ScaleRun, two: ScaleRun, engine: str) -> str:
    cores = os.cpu_count() or 1
    lines = [f"Rasd scale benchmark: {one.pages} generated pages, engine {engine}, {cores} cores, "
             f"{PARTITIONS} partitions (Kafka and the engine on the same machine)"]
    lines += _run_lines(one, cores) + _run_lines(two, cores)
    if one.pages_per_s:
        ratio = f"  two of each / one of each: {two.pages_per_s / one.pages_per_s:.2f}x end to end"
        if one.steady_pages_per_s:
            ratio += f", {two.steady_pages_per_s / one.steady_pages_per_s:.2f}x first to last searchable"
        lines.append(ratio)
    return "\n".join(lines)


def run_benchmark(settings: Settings, pages: int, engine: str, timeout_s: float) -> str:
    print("starting the local stack ...", flush=True)
    endpoints = manager.up(settings, ("kafka", engine))
    base = settings.model_copy(update={"kafka_bootstrap_servers": endpoints["kafka"]})
    print(f"{pages} pages: one ingest worker and one indexer, then two of each ...", flush=True)
    one, two = scale_runs(base, pages, endpoints[engine], timeout_s)
    return report(one, two, engine)
