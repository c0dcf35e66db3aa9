"""The local Elasticsearch's analysis plugin, without servers: what the build
packs (descriptor, named components), what the index needs from it, and the
idempotent install (against a stand-in for bin/elasticsearch-plugin).
Its effect on the real Elasticsearch is tested in tests/indexer/."""
from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from deploy.stack import es_plugin
from deploy.stack.errors import StackError
from deploy.stack.fetch import elasticsearch_home
from deploy.stack.jdk import Jdk
from deploy.stack.versions import ELASTICSEARCH_MIN_JAVA, ELASTICSEARCH_VERSION, LUCENE_VERSION
from indexer import mapping

API = "org.elasticsearch.plugin.analysis"
# what the Maven Central Elasticsearch has without the plugin (probed with _analyze)
MINIMAL_DISTRIBUTION_FILTERS = {"lowercase", "stop"}


def test_named_components_list_every_factory_of_the_sources():
    components = es_plugin.named_components()
    assert components == {
        f"{API}.AnalyzerFactory": {"arabic": "rasd.esanalysis.ArabicAnalyzerFactory"},
        f"{API}.CharFilterFactory": {"mapping": "rasd.esanalysis.MappingCharFilterFactory"},
        f"{API}.TokenFilterFactory": {
            "arabic_normalization": "rasd.esanalysis.ArabicNormalizationFilterFactory",
            "arabic_stem": "rasd.esanalysis.ArabicStemFilterFactory",
            "asciifolding": "rasd.esanalysis.AsciiFoldingFilterFactory",
            "decimal_digit": "rasd.esanalysis.DecimalDigitFilterFactory",
            "elision": "rasd.esanalysis.ElisionFilterFactory",
            "persian_normalization": "rasd.esanalysis.PersianNormalizationFilterFactory",
            "stemmer": "rasd.esanalysis.StemmerFilterFactory",
        },
    }
    sources = es_plugin.source_root()
    for names in components.values():
        for cls in names.values():
            assert sources.joinpath("src", "main", "java", *cls.split(".")[:-1], cls.split(".")[-1] + ".java").is_file()


def test_the_plugin_provides_every_component_of_the_index_chains_the_minimal_distribution_lacks():
    def kind(name: str) -> str:
        return mapping.CUSTOM_FILTERS.get(name, {}).get("type", name)

    token_filters = {kind(f) for f in mapping.CANDIDATE_FILTERS} - MINIMAL_DISTRIBUTION_FILTERS
    char_filters = {body["type"] for body in mapping.CUSTOM_CHAR_FILTERS.values()}
    components = es_plugin.named_components()
    assert token_filters <= set(components[f"{API}.TokenFilterFactory"])
    assert char_filters <= set(components[f"{API}.CharFilterFactory"])
    # the adapters probe Arabic analysis with this analyzer
    assert "arabic" in components[f"{API}.AnalyzerFactory"]


def test_a_component_outside_the_analysis_extension_points_is_refused():
    bad = {"pom.xml": b"<project/>", "X.java": b'package p;\n@NamedComponent("x")\npublic class X implements Runnable {}'}
    with pytest.raises(StackError, match="Runnable"):
        es_plugin.named_components(bad)


def test_the_descriptor_has_the_stable_plugin_keys_and_pinned_versions():
    props = dict(line.split("=", 1) for line in es_plugin.descriptor("abc").splitlines() if line)
    assert set(props) == {"name", "description", "version", "elasticsearch.version", "java.version"}
    assert props["name"] == es_plugin.PLUGIN_NAME
    assert props["version"] == "abc"
    assert props["elasticsearch.version"] == ELASTICSEARCH_VERSION
    assert props["java.version"] == str(ELASTICSEARCH_MIN_JAVA)


def test_the_pom_defaults_match_the_pinned_versions():
    pom = ET.fromstring(es_plugin.source_root().joinpath("pom.xml").read_text(encoding="utf-8"))
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = {el.tag.split("}")[1]: el.text for el in pom.find("m:properties", ns)}
    assert props["elasticsearch.version"] == ELASTICSEARCH_VERSION
    assert props["lucene.version"] == LUCENE_VERSION
    assert props["maven.compiler.release"] == str(ELASTICSEARCH_MIN_JAVA)
    # everything comes from the server: nothing is bundled into the plugin
    scopes = [d.find("m:scope", ns).text for d in pom.find("m:dependencies", ns)]
    assert scopes and set(scopes) == {"provided"}


def test_the_source_digest_names_the_cached_distribution_and_follows_the_sources():
    files = es_plugin._source_files()
    digest = es_plugin.source_digest(files)
    assert re.fullmatch(r"[0-9a-f]{12}", digest)
    assert es_plugin.source_digest(dict(files)) == digest
    changed = dict(files, **{"src/main/java/rasd/esanalysis/New.java": b"class New {}"})
    assert es_plugin.source_digest(changed) != digest
    assert elasticsearch_home(Path("/c")) == Path(f"/c/elasticsearch-{ELASTICSEARCH_VERSION}-analysis-{digest}")


def test_a_manual_maven_build_folder_does_not_change_the_digest(tmp_path):
    src = tmp_path / "plugin"
    (src / "src").mkdir(parents=True)
    (src / "pom.xml").write_text("<project/>")
    (src / "src" / "A.java").write_text("class A {}")
    before = es_plugin.source_digest(es_plugin._source_files(src))
    (src / "target").mkdir()
    (src / "target" / "Gen.java").write_text("class Gen {}")
    assert es_plugin.source_digest(es_plugin._source_files(src)) == before


# -- install, against a stand-in CLI that records its calls --------------

FAKE_CLI = """#!{python}
import pathlib, sys, urllib.parse, urllib.request, zipfile
home = pathlib.Path(__file__).resolve().parent.parent
with open(home / "calls.log", "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
if sys.argv[1] == "install":
    path = urllib.request.url2pathname(urllib.parse.urlparse(sys.argv[-1]).path)
    zipfile.ZipFile(path).extractall(home / "plugins" / "rasd-analysis")
elif sys.argv[1] == "remove":
    import shutil
    shutil.rmtree(home / "plugins" / sys.argv[-1])
"""


def _fake_home(tmp_path: Path) -> Path:
    home = tmp_path / "es"
    (home / "bin").mkdir(parents=True)
    (home / "plugins").mkdir()
    cli = home / "bin" / "elasticsearch-plugin"
    cli.write_text(FAKE_CLI.format(python=sys.executable))
    cli.chmod(0o755)
    return home


def _plugin_zip(path: Path, version: str) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(es_plugin.DESCRIPTOR, es_plugin.descriptor(version))
        z.writestr(es_plugin.NAMED_COMPONENTS, json.dumps(es_plugin.named_components()))
    return path


def test_install_uses_the_cli_once_and_replaces_an_older_version(tmp_path):
    home = _fake_home(tmp_path)
    jdk = Jdk(home=tmp_path / "jdk", major=25)
    calls = home / "calls.log"

    assert es_plugin.install_plugin(home, _plugin_zip(tmp_path / "v1.zip", "v1"), jdk) is True
    assert es_plugin.installed_version(home) == "v1"
    assert calls.read_text().splitlines() == [f"install --batch {(tmp_path / 'v1.zip').as_uri()}"]

    # the same version again: nothing to do
    assert es_plugin.install_plugin(home, _plugin_zip(tmp_path / "v1b.zip", "v1"), jdk) is False
    assert len(calls.read_text().splitlines()) == 1

    assert es_plugin.install_plugin(home, _plugin_zip(tmp_path / "v2.zip", "v2"), jdk) is True
    assert es_plugin.installed_version(home) == "v2"
    assert calls.read_text().splitlines()[1:] == [
        f"remove --purge {es_plugin.PLUGIN_NAME}",
        f"install --batch {(tmp_path / 'v2.zip').as_uri()}",
    ]
    # the server may run as another user
    for p in (home / "plugins").rglob("*"):
        assert p.stat().st_mode & 0o004


def test_install_fails_loudly_when_the_cli_installs_nothing(tmp_path):
    home = _fake_home(tmp_path)
    (home / "bin" / "elasticsearch-plugin").write_text("#!/bin/sh\nexit 0\n")
    with pytest.raises(StackError, match="not in"):
        es_plugin.install_plugin(home, _plugin_zip(tmp_path / "v1.zip", "v1"), Jdk(home=tmp_path, major=25))


def test_a_cli_failure_reports_its_output(tmp_path):
    home = _fake_home(tmp_path)
    (home / "bin" / "elasticsearch-plugin").write_text("#!/bin/sh\necho 'ERROR: bad plugin' >&2\nexit 3\n")
    with pytest.raises(StackError, match="bad plugin"):
        es_plugin.install_plugin(home, _plugin_zip(tmp_path / "v1.zip", "v1"), Jdk(home=tmp_path, major=25))


def test_the_server_classpath_check_names_the_lucene_it_found(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "lucene-analysis-common-99.0.0.jar").write_text("")
    with pytest.raises(StackError, match="lucene-analysis-common-99.0.0.jar.*LUCENE_VERSION"):
        es_plugin.check_server_classpath(tmp_path)


def test_stale_copies_are_removed_and_the_current_one_and_other_files_kept(tmp_path):
    for name in ("elasticsearch-9.1.5", "elasticsearch-9.1.5-analysis-old", "elasticsearch-9.1.5-analysis-new", "data"):
        (tmp_path / name).mkdir()
    es_plugin.remove_stale_copies(tmp_path, keep="elasticsearch-9.1.5-analysis-new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "elasticsearch-9.1.5-analysis-new"]
