"""Kafka, one KRaft node acting as broker and controller, on loopback."""
from __future__ import annotations

import base64
import socket
import subprocess
import uuid
from importlib import resources
from pathlib import Path

import structlog
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from deploy.stack.fetch import classpath, kafka_lib
from deploy.stack.jdk import find_jdk
from deploy.stack.errors import StackError
from deploy.stack.service import Launch
from ingest.settings import Settings

log = structlog.get_logger(__name__)

HEAP_OPTS = ["-Xms256m", "-Xmx1g"]
MIN_JAVA = 17


def render_server_properties(settings: Settings, data_dir: Path) -> str:
    """server.properties for a single node that is its own controller quorum."""
    port, ctrl = settings.stack_kafka_port, settings.stack_kafka_controller_port
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        # a static voter set: the storage is formatted without --standalone
        "controller.quorum.voters": f"1@127.0.0.1:{ctrl}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctrl}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "1",
        # one broker: internal topics cannot have more than one replica
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        # consumers in tests join at once; the default 3 s delay only slows them
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def accepts_connections(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.
    Like Kafka's own Uuid.randomUuid, never one starting with "-": a command
    line would read it as an option (1 draw in 64)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaService:
    name = "kafka"

    def ports(self, settings: Settings) -> list[int]:
        return [settings.stack_kafka_port, settings.stack_kafka_controller_port]

    def endpoint(self, settings: Settings) -> str:
        return f"127.0.0.1:{settings.stack_kafka_port}"

    def log_files(self, state: Path) -> list[Path]:
        return [state / "console.log", state / "logs" / "server.log"]

    def data_dirs(self, state: Path) -> list[Path]:
        return [state]

    def prepare(self, settings: Settings, cache: Path, state: Path) -> Launch:
        java = str(find_jdk(MIN_JAVA).java)
        cp = classpath(kafka_lib(cache))
        data, logs = state / "data", state / "logs"
        data.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        props = state / "server.properties"
        props.write_text(render_server_properties(settings, data), encoding="utf-8")
        log4j = state / "log4j2.properties"
        log4j.write_text(
            resources.files("deploy.stack").joinpath("resources", "kafka-log4j2.properties").read_text(encoding="utf-8"),
            encoding="utf-8",
        )
        jvm = [java, *HEAP_OPTS, "-XX:+UseG1GC", "-Djava.awt.headless=true",
               f"-Dlog4j2.configurationFile={log4j}", f"-Dkafka.logs.dir={logs}", "-cp", cp]
        if not (data / "meta.properties").exists():
            self._format(jvm, props, state)
        return Launch(argv=[*jvm, "kafka.Kafka", str(props)], cwd=state)

    def _format(self, jvm: list[str], props: Path, state: Path) -> None:
        cmd = [*jvm, "kafka.tools.StorageTool", "format", f"--cluster-id={new_cluster_id()}", "-c", str(props), "-g"]
        log.info("stack_kafka_format_storage", dir=str(state / "data"))
        proc = subprocess.run(cmd, cwd=state, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise StackError(f"Kafka storage format failed (exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")

    def healthy(self, settings: Settings) -> bool:
        # a plain TCP probe first: the admin client retries a closed port
        # with growing back-off and logs every attempt
        if not accepts_connections(settings.stack_kafka_port):
            return False
        # only connection-level failures mean "not ready": a wrong client
        # configuration must surface instead of looking like a slow start.
        # No kafka_client_kwargs: the local stack's broker listens in
        # plaintext on loopback whatever security a remote cluster needs.
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.endpoint(settings), client_id="rasd-stack-health", request_timeout_ms=5000
            )
        except (KafkaError, OSError):
            return False
        try:
            cluster = admin.describe_cluster()
            return any(not b.get("is_fenced") for b in cluster.get("brokers", []))
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()

    def ready(self, settings: Settings) -> bool:
        return self.healthy(settings)
