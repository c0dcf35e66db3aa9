"""The SSRF guard of the fetches made outside Scrapy (``rasd sources check``),
against real web servers on loopback addresses (Linux answers on all of
127.0.0.0/8: 127.0.0.2 stands for a public site, 127.0.0.1 for an internal
service)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawlers.addresses import AddressPolicy
from crawlers.check import http_fetcher
from tests.crawlers.site import RoutedSite

UA = "RasdBot/0.1"


@pytest.fixture
def internal() -> Iterator[RoutedSite]:
    site = RoutedSite("127.0.0.1")
    site.article("/secret.html")
    yield site
    site.stop()


@pytest.fixture
def public() -> Iterator[RoutedSite]:
    site = RoutedSite("127.0.0.2")
    yield site
    site.stop()


def test_a_loopback_site_is_refused_by_default_and_fetched_when_allowed(internal):
    refused = http_fetcher(UA, AddressPolicy())(internal.url("/secret.html"))
    assert refused.status is None
    assert refused.error is not None and refused.error.startswith("address_refused: ") and "127.0.0.1" in refused.error
    assert sum(internal.hits.values()) == 0

    allowed = http_fetcher(UA, AddressPolicy.of(["127.0.0.1/32"]))(internal.url("/secret.html"))
    assert allowed.status == 200 and "خبر".encode() in allowed.body
    assert internal.hits["/secret.html"] == 1


def test_a_name_is_judged_by_the_address_it_resolves_to(internal):
    url = f"http://localhost:{internal.port}/secret.html"
    assert (http_fetcher(UA, AddressPolicy())(url).error or "").startswith("address_refused: localhost refused (127.0.0.1)")
    assert sum(internal.hits.values()) == 0


def test_a_redirect_to_a_refused_address_is_refused(public, internal):
    policy = AddressPolicy.of(["127.0.0.2/32"])
    got = http_fetcher(UA, policy)(public.redirect("/go", internal.url("/secret.html")))
    assert got.status is None and (got.error or "").startswith("address_refused: 127.0.0.1 refused")
    assert public.hits["/go"] == 1
    assert sum(internal.hits.values()) == 0

    # the same redirect inside the allowed networks is followed
    public.article("/news.html")
    followed = http_fetcher(UA, policy)(public.redirect("/go-on", public.url("/news.html")))
    assert followed.status == 200 and public.hits["/news.html"] == 1


def test_a_metadata_name_is_refused_even_inside_allowed_networks():
    got = http_fetcher(UA, AddressPolicy.of(["0.0.0.0/0", "::/0"]))("http://metadata.google.internal/computeMetadata/v1/")
    assert got.error == "address_refused: metadata.google.internal refused (cloud metadata name): not a public address, nor in crawl_allowed_networks"
