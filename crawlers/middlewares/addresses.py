"""Requests for refused addresses end here, before robots.txt, the
politeness gate and the download (SSRF protection, ``crawlers.addresses``).

Every request passes, redirects included: Scrapy's RedirectMiddleware
schedules the redirect target as a new request through all downloader
middlewares. An IP literal or a metadata host name is judged directly; any
other name is resolved through the crawl's resolver (``GuardedResolver``,
which the connection will use as well and which enforces the same policy),
so a name that resolves to a refused address ends as ``AddressRefused``
with the address, rather than as a DNS error at connect time. A name that
does not resolve at all is left to the download to report.

Behind a proxy (``HTTP_PROXY``/``HTTPS_PROXY``, Scrapy's HttpProxyMiddleware)
the crawler connects only to the proxy, which resolves the target names
itself: IP literals and metadata names are still refused here, and names
this machine resolves to refused addresses, but what the proxy then
connects to is the proxy's own egress policy. A proxy on a private address
needs that address in ``crawl_allowed_networks``."""
from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import structlog
from scrapy import Request
from scrapy.utils.datatypes import LocalCache
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.error import DNSLookupError

from ingest.settings import get_settings

from crawlers.addresses import AddressPolicy, AddressRefused, ip_literal
from crawlers.resolver import AddressRefusedError

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

log = structlog.get_logger(__name__)

REFUSED_STAT = "rasd/address_refused"


class AddressGuardMiddleware:
    def __init__(self, crawler: Crawler, policy: AddressPolicy) -> None:
        self.crawler = crawler
        self.policy = policy
        # hosts already logged: one line per host, not per request
        self._logged: LocalCache[str, bool] = LocalCache(10_000)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        rasd = crawler.settings.get("RASD_SETTINGS") or get_settings()
        return cls(crawler, AddressPolicy.from_settings(rasd))

    async def process_request(self, request: Request) -> None:
        host = (urlsplit(request.url).hostname or "").lower()
        if not host:
            return
        literal = ip_literal(host)
        if literal is not None:
            if not self.policy.is_allowed(literal):
                self._refuse(request, host, str(literal))
            return
        if self.policy.refuses_name(host):
            self._refuse(request, host, "cloud metadata name")
        from twisted.internet import reactor

        try:
            await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[attr-defined]
        except AddressRefusedError as exc:
            self._refuse(request, host, exc.address)
        except DNSLookupError:
            return

    def _refuse(self, request: Request, host: str, address: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(REFUSED_STAT)
        if host not in self._logged:
            self._logged[host] = True
            log.warning("address_refused", host=host, address=address, url=request.url)
        raise AddressRefused(host, address)
