"""Elasticsearch 9, the minimal integ-test distribution (no bundled JDK, no
analysis-common/percolator), run with a Java 21+ runtime. The cached
distribution carries the project's analysis plugin (see ``es_plugin``).

Elasticsearch refuses to run as root: when we are root it runs as an
unprivileged user. That user may not be able to reach the checkout (CI
clones into private 0700 folders), so then the server's files - a copy of
the distribution, its config, data, logs and temp folders - live in a
runtime folder under the system temp directory, owned by that user."""
from __future__ import annotations

import grp
import hashlib
import os
import tempfile
import pwd
import shutil
from pathlib import Path

from deploy.stack.es_plugin import remove_stale_copies
from deploy.stack.fetch import elasticsearch_home
from deploy.stack.httpjson import cluster_yellow
from deploy.stack.jdk import find_jdk
from deploy.stack.errors import StackError
from deploy.stack.service import Launch
from deploy.stack.versions import ELASTICSEARCH_MIN_JAVA
from ingest.settings import Settings

JAVA_OPTS = "-Xms512m -Xmx512m"
MIN_JAVA = ELASTICSEARCH_MIN_JAVA
CLUSTER_NAME = "rasd-local"
UNPRIVILEGED_USER, UNPRIVILEGED_GROUP = "nobody", "nogroup"


def es_settings(settings: Settings, data: Path, logs: Path) -> dict[str, str]:
    return {
        "cluster.name": CLUSTER_NAME,
        "discovery.type": "single-node",
        "xpack.security.enabled": "false",
        "network.host": "127.0.0.1",
        "http.port": str(settings.stack_elasticsearch_port),
        "transport.port": str(settings.stack_elasticsearch_transport_port),
        "path.data": str(data),
        "path.logs": str(logs),
        # a nearly full dev disk must not turn indices read-only
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }


def _drop_privileges_prefix() -> tuple[list[str], tuple[int, int] | None]:
    """Command prefix that runs the server unprivileged when we are root."""
    if os.geteuid() != 0:
        return [], None
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise StackError("running as root and `setpriv` (util-linux) is missing: Elasticsearch refuses to run as root")
    try:
        uid = pwd.getpwnam(UNPRIVILEGED_USER).pw_uid
        gid = grp.getgrnam(UNPRIVILEGED_GROUP).gr_gid
    except KeyError as exc:
        raise StackError(f"running as root but user {UNPRIVILEGED_USER}/{UNPRIVILEGED_GROUP} is missing") from exc
    return [setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"], (uid, gid)


def runtime_root(state: Path) -> Path:
    """Where the server's own files live: the state folder, or when running
    as root a per-stack folder under the temp directory that the
    unprivileged user can always reach."""
    if os.geteuid() != 0:
        return state
    digest = hashlib.sha256(str(state.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"rasd-elasticsearch-{digest}"


def _check_traversable(path: Path) -> None:
    for parent in path.parents:
        if parent == Path(parent.anchor):
            break
        if not parent.stat().st_mode & 0o001:
            raise StackError(f"{parent} is not traversable by {UNPRIVILEGED_USER}; Elasticsearch cannot reach {path}")


def _install_home(home: Path, root: Path) -> Path:
    """The distribution the server runs from: the cache itself, or a copy in
    the runtime folder when that is elsewhere (refreshed on version change:
    the cached folder's name carries the versions, plugin included; copies of
    other versions are removed)."""
    target = root / home.name
    remove_stale_copies(root, keep=home.name)
    if not target.exists():
        partial = root / f".{home.name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(home, partial, symlinks=True)
        partial.rename(target)
    return target


def _chown_tree(root: Path, owner: tuple[int, int]) -> None:
    os.chown(root, *owner)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            os.chown(os.path.join(dirpath, n), *owner, follow_symlinks=False)


class ElasticsearchService:
    name = "elasticsearch"

    def ports(self, settings: Settings) -> list[int]:
        return [settings.stack_elasticsearch_port, settings.stack_elasticsearch_transport_port]

    def endpoint(self, settings: Settings) -> str:
        return f"http://127.0.0.1:{settings.stack_elasticsearch_port}"

    def log_files(self, state: Path) -> list[Path]:
        return [state / "console.log", runtime_root(state) / "logs" / f"{CLUSTER_NAME}.log"]

    def data_dirs(self, state: Path) -> list[Path]:
        return [state, runtime_root(state)]

    def prepare(self, settings: Settings, cache: Path, state: Path) -> Launch:
        jdk = find_jdk(MIN_JAVA)
        prefix, owner = _drop_privileges_prefix()
        root = runtime_root(state)
        root.mkdir(mode=0o755, parents=True, exist_ok=True)
        home = elasticsearch_home(cache)
        if root != state:
            _check_traversable(root)
            home = _install_home(home, root)
        conf, data, logs, tmp = root / "config", root / "data", root / "logs", root / "tmp"
        if not conf.exists():
            # ES writes its keystore into the config folder: use a private copy
            shutil.copytree(home / "config", conf)
        for d in (data, logs, tmp):
            d.mkdir(parents=True, exist_ok=True)
        if owner:
            for d in (conf, data, logs, tmp):
                _chown_tree(d, owner)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("ES_", "JAVA_"))},
            "ES_JAVA_HOME": str(jdk.home),
            "ES_PATH_CONF": str(conf),
            "ES_TMPDIR": str(tmp),
            "ES_JAVA_OPTS": JAVA_OPTS,
            "HOME": str(root),
        }
        args = [f"-E{k}={v}" for k, v in es_settings(settings, data, logs).items()]
        # The manager recognises its own server by the state folder on the
        # command line; with the runtime folder elsewhere, name it explicitly.
        args.append(f"-Enode.attr.rasd_state={state}")
        argv = [*prefix, str(home / "bin" / "elasticsearch"), *args]
        return Launch(argv=argv, cwd=root, env=env)

    def healthy(self, settings: Settings) -> bool:
        return cluster_yellow(self.endpoint(settings), timeout_s=2)

    def ready(self, settings: Settings) -> bool:
        return cluster_yellow(self.endpoint(settings))
