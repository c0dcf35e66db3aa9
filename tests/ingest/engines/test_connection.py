"""Engine connections from settings: credentials, API keys and TLS reach both
vendor clients and the GET / probe; over real TLS against a local HTTPS
server (the shared test stack runs in plaintext)."""
from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from opensearchpy import OpenSearch

from ingest.engines.connection import EngineConnection, client_kwargs
from ingest.engines.detect import open_configured_client
from ingest.engines.elasticsearch import ElasticsearchClient
from ingest.engines.errors import EngineError, EngineUnavailable
from ingest.engines.opensearch import OpenSearchClient
from ingest.settings import Settings
from tests.tls_support import Pki, TlsEngine, make_pki

DISTRIBUTIONS = ["elasticsearch", "opensearch"]
BASIC = "Basic " + base64.b64encode(b"rasd:s3cret-pass").decode()


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# -- the keyword arguments (pure) --

def test_plain_http_gets_credentials_but_no_tls_options():
    conn = EngineConnection.from_settings(_settings(search_url="http://es:9200", search_username="rasd",
                                                    search_password="pw", search_ca_certs="/ca.pem"))
    assert client_kwargs(conn, "elasticsearch") == {
        "hosts": "http://es:9200", "request_timeout": 60.0, "http_compress": False, "basic_auth": ("rasd", "pw")}
    assert client_kwargs(conn, "opensearch") == {
        "hosts": ["http://es:9200"], "timeout": 60.0, "http_compress": False, "http_auth": ("rasd", "pw")}


def test_https_passes_the_ca_verification_and_client_certificate_to_both_clients():
    conn = EngineConnection.from_settings(_settings(
        search_url="https://es:9200", search_ca_certs="/etc/rasd/ca.pem", search_verify_certs=False,
        search_client_cert="/etc/rasd/client.pem", search_client_key="/etc/rasd/client-key.pem"))
    tls = {"verify_certs": False, "ssl_show_warn": False, "ca_certs": "/etc/rasd/ca.pem",
           "client_cert": "/etc/rasd/client.pem", "client_key": "/etc/rasd/client-key.pem"}
    for distribution in DISTRIBUTIONS:
        kwargs = client_kwargs(conn, distribution)
        assert {k: kwargs[k] for k in tls} == tls
        assert not {"basic_auth", "http_auth", "api_key", "headers"} & set(kwargs)


def test_an_api_key_is_elasticsearchs_api_key_and_opensearchs_apikey_header():
    conn = EngineConnection.from_settings(_settings(search_url="https://search:9200", search_api_key="a2V5OnZhbHVl"))
    assert client_kwargs(conn, "elasticsearch")["api_key"] == "a2V5OnZhbHVl"
    assert client_kwargs(conn, "opensearch")["headers"] == {"Authorization": "ApiKey a2V5OnZhbHVl"}
    assert conn.auth_headers() == {"Authorization": "ApiKey a2V5OnZhbHVl"}


def test_credentials_in_the_url_move_out_of_it():
    conn = EngineConnection.from_settings(_settings(search_url="https://rasd:p%40ss@search:9200/"))
    assert conn.url == "https://search:9200/"
    assert conn.username == "rasd" and conn.password is not None and conn.password.get_secret_value() == "p@ss"
    assert client_kwargs(conn, "elasticsearch")["basic_auth"] == ("rasd", "p@ss")
    assert "p@ss" not in repr(conn) and "p%40ss" not in repr(conn)


def test_both_vendor_clients_accept_the_kwargs():
    conn = EngineConnection("https://localhost:9200", username="rasd", api_key=None, verify_certs=True)
    for distribution, cls in (("elasticsearch", Elasticsearch), ("opensearch", OpenSearch)):
        cls(**client_kwargs(conn, distribution)).close()


def test_settings_refuse_an_api_key_beside_a_username():
    with pytest.raises(ValueError, match="either search_api_key or search_username"):
        _settings(search_username="rasd", search_api_key="k")


# -- over real TLS --

@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(params=DISTRIBUTIONS)
def engine(request: pytest.FixtureRequest, pki: Pki) -> Iterator[TlsEngine]:
    server = TlsEngine(pki, request.param, authorization=BASIC)
    yield server
    server.close()


def test_basic_auth_over_tls_verified_with_the_ca_file(engine: TlsEngine, pki: Pki):
    settings = _settings(search_url=f"https://localhost:{engine.port}", search_username="rasd",
                         search_password="s3cret-pass", search_ca_certs=pki.ca)
    client = open_configured_client(settings)
    try:
        assert type(client) is {"elasticsearch": ElasticsearchClient, "opensearch": OpenSearchClient}[engine.distribution]
        assert client.index_exists("rasd-articles") is False  # a 404 from the vendor client's own request
    finally:
        client.close()
    # the GET / probe and the vendor client both sent the credentials
    assert [(method, path, auth) for method, path, auth, _ in engine.seen] == [
        ("GET", "/", BASIC), ("HEAD", "/rasd-articles", BASIC)]


def test_a_server_certificate_from_an_unknown_ca_is_refused(engine: TlsEngine):
    settings = _settings(search_url=f"https://localhost:{engine.port}", search_username="rasd",
                         search_password="s3cret-pass")
    with pytest.raises(EngineUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        open_configured_client(settings)
    assert engine.seen == []  # no request, so no credentials, went out


def test_verification_can_be_turned_off(engine: TlsEngine):
    settings = _settings(search_url=f"https://127.0.0.1:{engine.port}", search_username="rasd",
                         search_password="s3cret-pass", search_verify_certs=False)
    client = open_configured_client(settings)
    try:
        assert client.index_exists("x") is False
    finally:
        client.close()


def test_a_wrong_password_is_a_clear_permanent_error(engine: TlsEngine, pki: Pki):
    settings = _settings(search_url=f"https://localhost:{engine.port}", search_username="rasd",
                         search_password="wrong", search_ca_certs=pki.ca)
    with pytest.raises(EngineError, match="refused the credentials") as info:
        open_configured_client(settings)
    assert info.value.status == 401 and not info.value.retryable
    assert "wrong" not in str(info.value)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_an_api_key_and_a_client_certificate_reach_the_engine(distribution: str, pki: Pki, tmp_path: Path):
    server = TlsEngine(pki, distribution, authorization="ApiKey a2V5OnZhbHVl", require_client_cert=True)
    # the vendor clients load an unencrypted client key
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pki.client_key.read_bytes(), pki.client_key_password.encode())
    plain_key = tmp_path / "client-key.pem"
    plain_key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    settings = _settings(search_url=f"https://localhost:{server.port}", search_api_key="a2V5OnZhbHVl",
                         search_ca_certs=pki.ca, search_client_cert=pki.client_cert, search_client_key=plain_key)
    try:
        client = open_configured_client(settings)
        try:
            assert client.index_exists("rasd-alerts") is False
        finally:
            client.close()
    finally:
        server.close()
    assert [(auth, subject) for _, _, auth, subject in server.seen] == [
        ("ApiKey a2V5OnZhbHVl", "rasd-client")] * 2
