"""The compose certs service's script (deploy/compose/elasticsearch-certs.sh),
run here with the elasticsearch-certutil of the test stack's Elasticsearch
(the version of the compose image): its certificate carries the names the
compose clients use, sits where Elasticsearch's compose settings look, and is
verified by the Rasd engine clients configured as compose configures them."""
from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from deploy.stack import manager
from deploy.stack.fetch import elasticsearch_home
from deploy.stack.jdk import find_jdk
from deploy.stack.versions import ELASTICSEARCH_MIN_JAVA
from ingest.engines.detect import open_configured_client
from ingest.engines.errors import EngineUnavailable
from ingest.settings import Settings
from tests.test_docker_compose import (
    CA_IN_VOLUME, CERTS_INSTANCES, CERTS_SCRIPT, PASSWORDS, _in_certs_volume, _resolved, _settings_of,
)
from tests.tls_support import Pki, TlsEngine

SERVER_CERT, SERVER_KEY = "elasticsearch/elasticsearch.crt", "elasticsearch/elasticsearch.key"


@pytest.fixture(scope="module")
def certutil_env(stack_settings: Settings) -> dict[str, str]:
    # the stack fixture has fetched the Elasticsearch distribution
    home = elasticsearch_home(manager.cache_dir(stack_settings))
    return {**os.environ, "ES_HOME": str(home), "ES_JAVA_HOME": str(find_jdk(ELASTICSEARCH_MIN_JAVA).home)}


def _run_certs_script(env: dict[str, str], volume: Path) -> str:
    out = subprocess.run(["bash", str(CERTS_SCRIPT), str(volume), str(CERTS_INSTANCES)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def volume(certutil_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs-volume")
    out = _run_certs_script(certutil_env, folder)
    assert "CA created" in out and "elasticsearch certificate created" in out
    return folder


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_the_certificate_names_the_compose_host_and_loopback_and_lies_where_elasticsearch_reads_it(volume: Path):
    ca, cert = _cert(volume / CA_IN_VOLUME), _cert(volume / SERVER_CERT)
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {"elasticsearch", "localhost"}
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    es = _resolved()["services"]["elasticsearch"]
    for key in ("key", "certificate", "certificate_authorities"):
        in_volume = _in_certs_volume(es, "/usr/share/elasticsearch/config/" + es["environment"][f"xpack.security.http.ssl.{key}"])
        assert in_volume and (volume / in_volume).is_file(), key
    # certificates for everyone (the Rasd services run as another user);
    # Elasticsearch's key for its group; the CA key for the certs service only
    modes = {name: (volume / name).stat().st_mode & 0o777
             for name in (CA_IN_VOLUME, "ca/ca.key", SERVER_CERT, SERVER_KEY)}
    assert modes == {CA_IN_VOLUME: 0o644, "ca/ca.key": 0o600, SERVER_CERT: 0o644, SERVER_KEY: 0o640}


@pytest.fixture
def engine(volume: Path) -> Iterator[TlsEngine]:
    user = _settings_of(_resolved()["services"]["indexer"])
    password = user.search_password.get_secret_value() if user.search_password else ""
    basic = "Basic " + base64.b64encode(f"{user.search_username}:{password}".encode()).decode()
    # no client certificate here: the client fields repeat the server's
    pki = Pki(ca=volume / CA_IN_VOLUME, server_cert=volume / SERVER_CERT, server_key=volume / SERVER_KEY,
              client_cert=volume / SERVER_CERT, client_key=volume / SERVER_KEY, client_key_password="")
    server = TlsEngine(pki, "elasticsearch", authorization=basic)
    yield server
    server.close()


def _compose_settings(volume: Path, url: str) -> Settings:
    """The indexer's compose settings, with the URL of the local server and
    the CA path of the container mapped to the volume folder here."""
    indexer = _resolved()["services"]["indexer"]
    settings = _settings_of(indexer)
    in_volume = _in_certs_volume(indexer, str(settings.search_ca_certs))
    assert in_volume == CA_IN_VOLUME
    return settings.model_copy(update={"search_url": url, "search_ca_certs": volume / in_volume})


def test_rasd_engine_clients_configured_as_in_compose_verify_the_certificate_with_the_compose_ca(
        engine: TlsEngine, volume: Path):
    for host in ("localhost", "127.0.0.1"):
        settings = _compose_settings(volume, f"https://{host}:{engine.port}")
        assert settings.search_verify_certs and settings.search_password is not None
        assert settings.search_password.get_secret_value() == PASSWORDS["ELASTIC_RASD_PASSWORD"]
        client = open_configured_client(settings)
        try:
            assert client.index_exists("rasd-articles") is False
        finally:
            client.close()
    # without the compose CA (the system's CAs) the server is refused, before any credentials go out
    seen = len(engine.seen)
    plain = _compose_settings(volume, f"https://localhost:{engine.port}").model_copy(update={"search_ca_certs": None})
    with pytest.raises(EngineUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        open_configured_client(plain)
    assert len(engine.seen) == seen


def test_run_again_the_certs_script_keeps_the_files_and_a_new_ca_gets_a_new_certificate(
        certutil_env: dict[str, str], volume: Path, tmp_path: Path):
    copy = tmp_path / "volume"
    shutil.copytree(volume, copy)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert "created" not in _run_certs_script(certutil_env, copy)
    assert {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before
    # the CA deleted: a new one, and a certificate it signed, not the old CA's
    shutil.rmtree(copy / "ca")
    out = _run_certs_script(certutil_env, copy)
    assert "CA created" in out and "elasticsearch certificate created" in out
    new_ca, old_ca, cert = _cert(copy / CA_IN_VOLUME), _cert(volume / CA_IN_VOLUME), _cert(copy / SERVER_CERT)
    assert new_ca != old_ca
    cert.verify_directly_issued_by(new_ca)
    with pytest.raises(InvalidSignature):
        cert.verify_directly_issued_by(old_ca)
