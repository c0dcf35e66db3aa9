"""Which addresses the crawler may connect to (SSRF protection), as pure
logic: the downloader middleware (``crawlers.middlewares.addresses``) and
the DNS resolver (``crawlers.resolver``) both ask ``AddressPolicy``.

A source's feed, sitemap or a redirect can name any host; without this a
link to ``http://169.254.169.254/`` (cloud metadata, credentials) or to a
service on the crawler's own network would be fetched and published.

The test is Python's ``is_global`` (IANA's special-purpose registries:
loopback, RFC 1918, link-local, CGNAT 100.64/10, unique-local fc00::/7,
reserved, unspecified ...), with two additions: multicast is refused too
(``is_global`` counts global multicast scopes as global), and an IPv6 form
that carries an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``,
IPv4-compatible ``::a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``)
is judged by that IPv4 address, which is where a connection would end up.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

if TYPE_CHECKING:
    from ingest.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Names that reach a cloud's metadata service from inside it, whatever they
# resolve to elsewhere (and behind a proxy, which resolves names itself).
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)

_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(IgnoreRequest):
    """A request for a host whose address the crawler may not fetch from:
    final (not retried) and recorded as ``address_refused``."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} refused ({address}): not a public address, nor in crawl_allowed_networks")
        self.host = host
        self.address = address


def ip_literal(host: str) -> IPAddress | None:
    """The address when ``host`` is an IP literal (brackets allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries, if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _IPV4_COMPATIBLE or address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    target = embedded_ipv4(address) or address
    return target.is_global and not target.is_multicast


@dataclass(frozen=True)
class AddressPolicy:
    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, networks: Iterable[str]) -> AddressPolicy:
        return cls(tuple(ipaddress.ip_network(n, strict=False) for n in networks))

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressPolicy:
        return cls.of(settings.crawl_allowed_networks)

    def is_allowed(self, address: IPAddress | str) -> bool:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        forms = [ip, *filter(None, [embedded_ipv4(ip)])]
        if any(form in net for form in forms for net in self.allowed if form.version == net.version):
            return True
        return is_public(ip)

    def refuses_name(self, host: str) -> bool:
        """A host name refused whatever it resolves to (metadata services)."""
        return host.rstrip(".").lower() in METADATA_HOSTS

    def refusal(self, host: str, addresses: Iterable[str]) -> str | None:
        """Why ``host`` may not be connected to, given what it resolved to:
        the metadata name, or the first address outside the policy; None when
        all are allowed. One refused address refuses the name: a client that
        tries each answer in turn could end up on it."""
        if self.refuses_name(host):
            return "cloud metadata name"
        return next((a for a in addresses if not self.is_allowed(a)), None)
