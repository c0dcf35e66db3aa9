"""urllib3 that connects only where the crawler may (``crawlers.addresses``),
for the tools that fetch outside Scrapy (``rasd sources check``).

The check sits in the connection itself: the host is resolved once, every
address it resolves to is judged by the crawler's ``AddressPolicy``, and the
socket is opened to those checked addresses, never to a second answer of
the name (DNS rebinding). Redirects open their connections here as well,
so a redirect to a refused address is refused like a first request. TLS
still verifies the certificate against the host name, not the address."""
from __future__ import annotations

import socket
from typing import Any, ClassVar

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family

from crawlers.addresses import AddressPolicy, AddressRefused


class _Guarded(HTTPConnection):
    policy: ClassVar[AddressPolicy]

    def _new_conn(self) -> socket.socket:
        name = self._dns_host
        host = name.strip("[]")
        # a metadata name is refused before it is resolved: off the cloud it may
        # not resolve at all, and that must not read as a DNS error
        refused = self.policy.refusal(host, ())
        if refused is None:
            try:
                answers = socket.getaddrinfo(host, self.port, allowed_gai_family(), socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise NameResolutionError(self.host, self, exc) from exc
            addresses = list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in answers))
            refused = self.policy.refusal(host, addresses)
        if refused is not None:
            raise AddressRefused(host, refused)
        failure: NewConnectionError | None = None
        try:
            for address in addresses:
                self._dns_host = address
                try:
                    return super()._new_conn()
                except NewConnectionError as exc:
                    failure = exc
        finally:
            self._dns_host = name
        assert failure is not None  # getaddrinfo answers at least one address or raises
        raise failure


def guarded_pool_manager(policy: AddressPolicy, **kwargs: Any) -> urllib3.PoolManager:
    """A ``PoolManager`` whose every connection, redirects included, raises
    ``AddressRefused`` for a host ``policy`` refuses (not retried: urllib3
    retries only connection and HTTP errors)."""
    attrs = {"policy": policy}
    http = type("GuardedHTTPConnection", (_Guarded,), attrs)
    https = type("GuardedHTTPSConnection", (_Guarded, HTTPSConnection), attrs)
    manager = urllib3.PoolManager(**kwargs)
    manager.pool_classes_by_scheme = {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }
    return manager
