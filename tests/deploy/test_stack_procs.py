"""Process handling of the local stack, exercised with plain Python child
processes instead of servers (no Java needed)."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.stack import manager
from deploy.stack.errors import StackError
from deploy.stack.procs import pid_alive, port_in_use, read_pid, spawn, stop, tail
from ingest.settings import Settings

SLEEPER = "import sys, time; time.sleep(120)"
# ignores SIGTERM, so only SIGKILL ends it
STUBBORN = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(120)"


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_port_in_use_sees_a_listening_socket(listener: int) -> None:
    assert port_in_use(listener)


def test_port_in_use_is_false_for_a_free_port() -> None:
    assert not port_in_use(free_port())


def test_read_pid_ignores_a_live_process_that_is_not_ours(tmp_path: Path) -> None:
    # guards against a recycled pid: the marker must be on the command line
    pid_file = tmp_path / "x.pid"
    proc = spawn([sys.executable, "-c", SLEEPER, str(tmp_path / "state")], log_file=tmp_path / "out.log", pid_file=pid_file, cwd=tmp_path)
    try:
        # Right after exec the kernel may not have laid out the new command
        # line yet (/proc/<pid>/cmdline reads empty for a moment): wait for it.
        deadline = time.monotonic() + 5
        while read_pid(pid_file, str(tmp_path / "state")) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert read_pid(pid_file, str(tmp_path / "state")) == proc.pid
        assert read_pid(pid_file, "/somewhere/else") is None
    finally:
        stop(proc.pid, timeout_s=5)
        proc.wait()


def test_stop_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    proc = spawn([sys.executable, "-c", STUBBORN], log_file=out, pid_file=tmp_path / "p.pid", cwd=tmp_path)
    deadline = time.monotonic() + 10
    while "up" not in out.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    stop(proc.pid, timeout_s=1)
    proc.wait(timeout=5)
    assert proc.returncode == -9
    assert time.monotonic() - t0 < 8


def test_tail_returns_the_last_lines(tmp_path: Path) -> None:
    f = tmp_path / "log"
    f.write_text("".join(f"line {i}\n" for i in range(100)))
    assert tail(f, 3).splitlines() == ["line 97", "line 98", "line 99"]


def tmp_stack(tmp_path: Path, **ports: int) -> Settings:
    defaults = {
        "stack_kafka_port": free_port(),
        "stack_kafka_controller_port": free_port(),
        "stack_opensearch_port": 9299,
        "stack_elasticsearch_port": free_port(),
        "stack_elasticsearch_transport_port": free_port(),
    }
    return Settings(stack_dir=tmp_path / "stack", **{**defaults, **ports})


def test_up_refuses_a_port_held_by_another_process_before_downloading(tmp_path: Path, listener: int) -> None:
    s = tmp_stack(tmp_path, stack_kafka_port=listener)
    with pytest.raises(StackError, match=rf"127\.0\.0\.1:{listener} is already in use"):
        manager.up(s, ["kafka"])
    assert not (tmp_path / "stack" / "cache").exists()


def test_down_stops_the_process_recorded_for_a_service_and_forgets_it(tmp_path: Path) -> None:
    s = tmp_stack(tmp_path)
    state = manager.state_dir(s, "kafka")
    state.mkdir(parents=True)
    pid_file = state.parent / "kafka.pid"
    proc = spawn([sys.executable, "-c", SLEEPER, str(state)], log_file=state / "console.log", pid_file=pid_file, cwd=state)
    assert manager.status(s, ["kafka"])["kafka"]["running"]
    manager.down(s, ["kafka"], timeout_s=5)
    proc.wait(timeout=5)
    assert not pid_alive(proc.pid)
    assert not pid_file.exists()
    st = manager.status(s, ["kafka"])["kafka"]
    assert (st["running"], st["healthy"], st["pid"]) == (False, False, None)


def test_waiting_for_a_server_that_exits_reports_its_log_tail(tmp_path: Path) -> None:
    s = tmp_stack(tmp_path)
    state = manager.state_dir(s, "opensearch")
    state.mkdir(parents=True)
    (state / "console.log").write_text("starting\nException: port 9299 is unavailable\n")
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    with pytest.raises(StackError, match=r"(?s)opensearch exited during start-up \(exit 3\).*port 9299 is unavailable"):
        manager._wait_ready(s, "opensearch", proc, timeout_s=5)


def test_unknown_service_names_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="unknown service"):
        manager.status(tmp_stack(tmp_path), ["zookeeper"])
