"""How to reach and authenticate to a search engine: one value built from the
settings, and the keyword arguments the vendor clients and the ``GET /``
probe take from it. Credentials never travel inside the URL past this
point, so ``EngineConnection.url`` is safe to log."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from ingest.redaction import split_userinfo
from ingest.settings import Settings


@dataclass(frozen=True)
class EngineConnection:
    url: str
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    api_key: SecretStr | None = field(default=None, repr=False)
    ca_certs: Path | None = None
    verify_certs: bool = True
    client_cert: Path | None = None
    client_key: Path | None = None
    timeout_s: float = 60.0
    http_compress: bool = False

    def __post_init__(self) -> None:
        # https://user:pass@host works as a URL everywhere else; here the
        # credentials move to the fields, so the URL can be logged as it is.
        url, username, password = split_userinfo(self.url)
        object.__setattr__(self, "url", url)
        if username and not self.username:
            object.__setattr__(self, "username", username)
            object.__setattr__(self, "password", None if password is None else SecretStr(password))

    @classmethod
    def from_settings(cls, settings: Settings, url: str | None = None) -> "EngineConnection":
        """The engine at ``url`` (default ``search_url``) with the settings'
        credentials, TLS options, timeout and compression."""
        return cls(
            url=url or settings.search_url,
            username=settings.search_username,
            password=settings.search_password,
            api_key=settings.search_api_key,
            ca_certs=settings.search_ca_certs,
            verify_certs=settings.search_verify_certs,
            client_cert=settings.search_client_cert,
            client_key=settings.search_client_key,
            timeout_s=settings.search_request_timeout_s,
            http_compress=settings.search_http_compress,
        )

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "https"

    def basic_auth(self) -> tuple[str, str] | None:
        """(username, password) in clear, for a client that sends them."""
        if not self.username:
            return None
        return self.username, self.password.get_secret_value() if self.password else ""

    def auth_headers(self) -> dict[str, str]:
        """The ``Authorization`` header, for a request made without a vendor client."""
        if self.api_key is not None:
            return {"Authorization": f"ApiKey {self.api_key.get_secret_value()}"}
        basic = self.basic_auth()
        if basic is None:
            return {}
        token = base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    def tls_files(self) -> dict[str, str | None]:
        """The PEM files, as the vendor clients name them."""
        return {
            "ca_certs": None if self.ca_certs is None else str(self.ca_certs),
            "client_cert": None if self.client_cert is None else str(self.client_cert),
            "client_key": None if self.client_key is None else str(self.client_key),
        }


def client_kwargs(connection: EngineConnection, distribution: str) -> dict[str, Any]:
    """Keyword arguments for ``elasticsearch.Elasticsearch`` (``distribution``
    "elasticsearch") or ``opensearchpy.OpenSearch`` ("opensearch"): host,
    timeout, compression, credentials and, for an https URL, TLS. The caller
    adds its own retry and pool options."""
    c = connection
    # certificate warnings are off because an unverified connection is a
    # choice the settings made (search_verify_certs), not news per request
    tls: dict[str, Any] = {"verify_certs": c.verify_certs, "ssl_show_warn": False, **c.tls_files()} if c.tls else {}
    if distribution == "opensearch":
        kwargs: dict[str, Any] = {"hosts": [c.url], "timeout": c.timeout_s, "http_compress": c.http_compress, **tls}
        basic = c.basic_auth()
        if basic is not None:
            kwargs["http_auth"] = basic
        if c.api_key is not None:
            # OpenSearch 3.7+ (security plugin API keys) reads the same header
            # as Elasticsearch; opensearch-py has no api_key option of its own
            kwargs["headers"] = c.auth_headers()
        return kwargs
    kwargs = {"hosts": c.url, "request_timeout": c.timeout_s, "http_compress": c.http_compress, **tls}
    basic = c.basic_auth()
    if basic is not None:
        kwargs["basic_auth"] = basic
    if c.api_key is not None:
        kwargs["api_key"] = c.api_key.get_secret_value()
    return kwargs


def probe_pool_kwargs(connection: EngineConnection) -> dict[str, Any]:
    """TLS keyword arguments for the ``urllib3.PoolManager`` of the ``GET /``
    probe, which runs before a vendor client can be chosen."""
    if not connection.tls:
        return {}
    files = connection.tls_files()
    kwargs: dict[str, Any] = {"cert_file": files["client_cert"], "key_file": files["client_key"]}
    if connection.verify_certs:
        kwargs.update(cert_reqs="CERT_REQUIRED", ca_certs=files["ca_certs"])
    else:
        kwargs.update(cert_reqs="CERT_NONE", assert_hostname=False)
    return kwargs
