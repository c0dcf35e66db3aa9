"""Scrapy's DNS resolver, refusing answers the crawler may not connect to
(``TWISTED_DNS_RESOLVER`` in ``crawlers.settings``).

Checking a URL's host name before the request is not enough: the name can
resolve to a public address for the check and to 127.0.0.1 for the
connection (DNS rebinding, or an answer that simply changed). Here the
address that is checked is the address connected to, because the check is
part of the resolution itself.

Both of Twisted's lookup paths end here: ``getHostByName`` (the reactor's
``resolve`` and ``connectTCP``) directly, and the ``IHostnameResolver``
path that HTTP/1.1 connections take (``HostnameEndpoint`` calls
``reactor.nameResolver.resolveHostName``): ``installResolver`` wraps this
resolver for it. That wrapper turns a failed lookup into "no results for
hostname lookup", so a refusal there reads as a DNS error;
``AddressGuardMiddleware`` resolves each host first through the same
resolver to report it as ``address_refused``. IP literals in a URL are
resolved here too (to themselves), so they are checked twice as well.

Scrapy's ``CachingHostnameResolver`` (IPv6) must not replace this one: it
installs itself as the name resolver and would skip the check."""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError

from ingest.settings import get_settings

from crawlers.addresses import AddressPolicy, AddressRefused

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from twisted.internet.base import ReactorBase
    from twisted.internet.defer import Deferred


class AddressRefusedError(DNSLookupError):
    """The name resolved only to refused addresses."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(str(AddressRefused(host, address)))
        self.host = host
        self.address = address


class GuardedResolver(CachingThreadedResolver):
    def __init__(self, reactor: ReactorBase, cache_size: int, timeout: float, policy: AddressPolicy) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        # Scrapy passes the CrawlerProcess here: its settings are the crawl's
        settings = crawler.settings
        rasd = settings.get("RASD_SETTINGS") or get_settings()
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), AddressPolicy.from_settings(rasd))

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        # checked after the cache too: cached answers are raw answers
        d = super().getHostByName(name, timeout)
        d.addCallback(self._checked, name)
        return d

    def _checked(self, address: str, name: str) -> str:
        if self.policy.refuses_name(name) or not self.policy.is_allowed(address):
            raise AddressRefusedError(name, address)
        return address
