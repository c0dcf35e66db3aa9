"""The local Elasticsearch's analysis plugin (``deploy/stack/es_analysis_plugin``).

The Maven Central Elasticsearch build has no analysis-common module, so it
lacks the Arabic, Persian, digit and folding filters the index's analysis
chains use (``indexer/mapping.py``). Its server classpath does carry Lucene's
``lucene-analysis-common`` jar, which holds those very filters: a small
*stable* plugin (Elastic's public plugin API) exposes them under the names
the full distribution uses, so the index settings are the same on every
engine. Nothing Lucene is bundled: the plugin's jar holds only its factories.

At ``rasd stack fetch`` the plugin is compiled with Maven (Java 21+, since
Lucene 10 is Java 21 bytecode), packed as a stable-plugin zip here
(descriptor and ``named_components.json`` are what Elastic's Gradle plugin
would generate) and installed with the distribution's own
``bin/elasticsearch-plugin install --batch``."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from deploy.stack.errors import StackError
from deploy.stack.jdk import Jdk
from deploy.stack.versions import (
    COMPILER_PLUGIN,
    ELASTICSEARCH_MIN_JAVA,
    ELASTICSEARCH_VERSION,
    JAR_PLUGIN,
    LUCENE_VERSION,
)

PLUGIN_NAME = "rasd-analysis"
SOURCE_FOLDER = "es_analysis_plugin"
DESCRIPTOR = "stable-plugin-descriptor.properties"
NAMED_COMPONENTS = "named_components.json"
# the extension points of the stable analysis API a factory may implement
ANALYSIS_API_PACKAGE = "org.elasticsearch.plugin.analysis"
EXTENSIBLES = ("TokenFilterFactory", "CharFilterFactory", "TokenizerFactory", "AnalyzerFactory")

_PACKAGE_RE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_COMPONENT_RE = re.compile(
    r'@NamedComponent\(\s*"([^"]+)"\s*\)\s*public\s+(?:final\s+)?class\s+(\w+)\s+implements\s+([\w.]+)'
)


def source_root() -> Traversable:
    return resources.files("deploy.stack").joinpath(SOURCE_FOLDER)


def _source_files(root: Traversable | None = None) -> dict[str, bytes]:
    """The plugin's sources (pom and Java files) by path relative to its folder."""
    root = root or source_root()
    found: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in node.iterdir():
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                if child.name != "target":  # a manual `mvn` leaves its output here
                    walk(child, rel + "/")
            elif child.name == "pom.xml" or child.name.endswith(".java"):
                found[rel] = child.read_bytes()

    walk(root, "")
    if "pom.xml" not in found or not any(p.endswith(".java") for p in found):
        raise StackError(f"the Elasticsearch analysis plugin sources are missing under {root}")
    return dict(sorted(found.items()))


def source_digest(files: dict[str, bytes] | None = None) -> str:
    """Short hash of everything the built plugin depends on: its sources and
    the pinned versions. It names the cached distribution the plugin is
    installed in, so any change rebuilds and reinstalls it."""
    h = hashlib.sha256()
    pins = (ELASTICSEARCH_VERSION, LUCENE_VERSION, COMPILER_PLUGIN, JAR_PLUGIN, str(ELASTICSEARCH_MIN_JAVA))
    h.update("\0".join(pins).encode())
    h.update(descriptor("").encode())
    for rel, data in (files or _source_files()).items():
        h.update(b"\0" + rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()[:12]


def named_components(files: dict[str, bytes] | None = None) -> dict[str, dict[str, str]]:
    """``named_components.json``: extension point -> {component name: class},
    read from the ``@NamedComponent`` annotations of the Java sources."""
    out: dict[str, dict[str, str]] = {}
    for rel, data in (files or _source_files()).items():
        if not rel.endswith(".java"):
            continue
        text = data.decode("utf-8")
        package = _PACKAGE_RE.search(text)
        for name, cls, iface in _COMPONENT_RE.findall(text):
            simple = iface.rsplit(".", 1)[-1]
            if simple not in EXTENSIBLES:
                raise StackError(f"{rel}: @NamedComponent class {cls} implements {iface}, not one of {EXTENSIBLES}")
            fqcn = f"{package.group(1)}.{cls}" if package else cls
            names = out.setdefault(f"{ANALYSIS_API_PACKAGE}.{simple}", {})
            if name in names:
                raise StackError(f"analysis component {name!r} is declared twice ({names[name]}, {fqcn})")
            names[name] = fqcn
    if not out:
        raise StackError("no @NamedComponent found in the Elasticsearch analysis plugin sources")
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def descriptor(version: str) -> str:
    """``stable-plugin-descriptor.properties`` (the keys a stable plugin takes)."""
    return "\n".join(
        [
            "description=Lucene analysis-common filters (Arabic, Persian, digits, folding, elision, possessives) "
            "under the full distribution's names",
            f"version={version}",
            f"name={PLUGIN_NAME}",
            f"elasticsearch.version={ELASTICSEARCH_VERSION}",
            f"java.version={ELASTICSEARCH_MIN_JAVA}",
            "",
        ]
    )


def _run(cmd: list[str], *, env: dict[str, str], cwd: Path, what: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).strip().splitlines()[-30:]
        raise StackError(f"{what} failed (exit {proc.returncode}):\n" + "\n".join(out))


def _java_env(jdk: Jdk, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ES_", "JAVA_", "CLI_JAVA"))}
    return {**env, "JAVA_HOME": str(jdk.home), **extra}


def build_plugin(out_zip: Path, jdk: Jdk, mvn: str) -> Path:
    """Compile the plugin with Maven on ``jdk`` and pack the installable zip."""
    if jdk.major < ELASTICSEARCH_MIN_JAVA:
        raise StackError(f"the analysis plugin needs a Java {ELASTICSEARCH_MIN_JAVA}+ compiler, got {jdk.home}")
    files = _source_files()
    version = source_digest(files)
    with tempfile.TemporaryDirectory(prefix=".rasd-es-plugin-", dir=out_zip.parent) as work:
        workdir = Path(work)
        # build a copy: mvn never writes into the checkout
        for rel, data in files.items():
            (workdir / rel).parent.mkdir(parents=True, exist_ok=True)
            (workdir / rel).write_bytes(data)
        _run(
            [mvn, "-B", "-q", f"{COMPILER_PLUGIN}:compile", f"{JAR_PLUGIN}:jar", "-f", str(workdir / "pom.xml"),
             f"-Delasticsearch.version={ELASTICSEARCH_VERSION}", f"-Dlucene.version={LUCENE_VERSION}",
             f"-Dmaven.compiler.release={ELASTICSEARCH_MIN_JAVA}"],
            env=_java_env(jdk),
            cwd=workdir,
            what="mvn building the Elasticsearch analysis plugin",
        )
        jars = sorted((workdir / "target").glob("*.jar"))
        if len(jars) != 1:
            raise StackError(f"the analysis plugin build produced {[j.name for j in jars]}, expected one jar")
        partial = out_zip.with_name(out_zip.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(DESCRIPTOR, descriptor(version))
            # present, so the installer need not scan the jar (it would with a 64 MB heap)
            z.writestr(NAMED_COMPONENTS, json.dumps(named_components(files), indent=2) + "\n")
            z.write(jars[0], f"{PLUGIN_NAME}-{version}.jar")
        partial.replace(out_zip)
    return out_zip


def installed_version(es_home: Path) -> str | None:
    """The version of the plugin installed in ``es_home``, if any."""
    try:
        text = (es_home / "plugins" / PLUGIN_NAME / DESCRIPTOR).read_text(encoding="utf-8")
    except OSError:
        return None
    m = re.search(r"^version=(.*)$", text, re.MULTILINE)
    return m.group(1).strip() if m else None


def check_server_classpath(es_home: Path) -> None:
    """The plugin compiles against pinned API and Lucene versions and uses the
    server's own jars at run time: they must be the ones in ``lib/``."""
    lib = es_home / "lib"
    for jar in (
        f"lucene-analysis-common-{LUCENE_VERSION}.jar",
        f"elasticsearch-plugin-analysis-api-{ELASTICSEARCH_VERSION}.jar",
    ):
        if not (lib / jar).is_file():
            found = sorted(p.name for p in lib.glob("lucene-analysis-common-*.jar"))
            raise StackError(
                f"{lib} has no {jar} (Lucene there: {found}); update LUCENE_VERSION in deploy/stack/versions.py "
                f"to the Lucene of Elasticsearch {ELASTICSEARCH_VERSION}"
            )


def install_plugin(es_home: Path, plugin_zip: Path, jdk: Jdk) -> bool:
    """Install the plugin with ``bin/elasticsearch-plugin`` (idempotent: a
    no-op when this version is installed, an older one is replaced).
    Returns whether anything was installed."""
    version = _zip_version(plugin_zip)
    current = installed_version(es_home)
    if current == version:
        return False
    cli = es_home / "bin" / "elasticsearch-plugin"
    env = _java_env(jdk, ES_JAVA_HOME=str(jdk.home), ES_PATH_CONF=str(es_home / "config"))
    if current is not None or (es_home / "plugins" / PLUGIN_NAME).exists():
        _run([str(cli), "remove", "--purge", PLUGIN_NAME], env=env, cwd=es_home, what=f"removing {PLUGIN_NAME} {current}")
    _run(
        [str(cli), "install", "--batch", plugin_zip.resolve().as_uri()],
        env=env,
        cwd=es_home,
        what=f"installing the {PLUGIN_NAME} plugin into {es_home}",
    )
    if installed_version(es_home) != version:
        raise StackError(f"elasticsearch-plugin reported success but {PLUGIN_NAME} {version} is not in {es_home / 'plugins'}")
    _make_readable(es_home / "plugins")
    return True


def _zip_version(plugin_zip: Path) -> str:
    with zipfile.ZipFile(plugin_zip) as z:
        text = z.read(DESCRIPTOR).decode("utf-8")
    m = re.search(r"^version=(.*)$", text, re.MULTILINE)
    if not m:
        raise StackError(f"{plugin_zip} has no version in its {DESCRIPTOR}")
    return m.group(1).strip()


def _make_readable(root: Path) -> None:
    """The server may run as an unprivileged user: plugin files must be world-readable."""
    for dirpath, dirnames, filenames in os.walk(root):
        os.chmod(dirpath, os.stat(dirpath).st_mode | 0o755)
        for n in filenames:
            p = os.path.join(dirpath, n)
            os.chmod(p, os.stat(p).st_mode | 0o444)


def remove_stale_copies(folder: Path, keep: str, prefix: str = "elasticsearch-") -> None:
    """Delete other versions of the distribution in ``folder`` (older plugin builds)."""
    for p in folder.glob(f"{prefix}*"):
        if p.name != keep and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
