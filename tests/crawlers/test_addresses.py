import pytest

from crawlers.addresses import AddressPolicy, ip_literal, is_public
from ingest.settings import Settings

REFUSED_BY_DEFAULT = [
    "127.0.0.1",
    "127.0.0.2",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "100.100.100.200",  # Alibaba's metadata, inside CGNAT
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",  # AWS metadata over IPv6
    "ff02::1",
    "ff0e::1",  # global-scope multicast: is_global says yes
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
]


@pytest.mark.parametrize("address", REFUSED_BY_DEFAULT)
def test_private_loopback_link_local_and_special_addresses_are_refused_by_default(address):
    assert not AddressPolicy().is_allowed(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_public_addresses_are_allowed(address):
    assert AddressPolicy().is_allowed(address)


def test_an_allowed_network_lets_exactly_its_addresses_through():
    policy = AddressPolicy.of(["127.0.0.1/32"])
    assert policy.is_allowed("127.0.0.1")
    assert policy.is_allowed("::ffff:127.0.0.1")  # the same address, reached through IPv6
    assert not policy.is_allowed("127.0.0.2")
    assert not policy.is_allowed("::1")
    assert not policy.is_allowed("169.254.169.254")


def test_the_metadata_address_stays_refused_when_other_private_networks_are_allowed():
    policy = AddressPolicy.of(["10.0.0.0/8", "192.168.0.0/16", "fd12::/16"])
    assert policy.is_allowed("10.2.3.4") and policy.is_allowed("fd12::1")
    assert not policy.is_allowed("169.254.169.254")
    assert not policy.is_allowed("fd00:ec2::254")


@pytest.mark.parametrize("host", ["metadata.google.internal", "METADATA.google.internal.", "metadata.goog", "instance-data"])
def test_metadata_host_names_are_refused_whatever_they_resolve_to(host):
    assert AddressPolicy.of(["0.0.0.0/0"]).refuses_name(host)


def test_ordinary_host_names_are_left_to_resolution():
    assert not AddressPolicy().refuses_name("news.example")


def test_ip_literals_are_told_from_names():
    assert str(ip_literal("[::1]")) == "::1"
    assert str(ip_literal("127.0.0.1")) == "127.0.0.1"
    assert ip_literal("localhost") is None
    # inet_aton spellings are names here; the resolver turns them into 127.0.0.1
    assert ip_literal("2130706433") is None


def test_is_public_judges_ipv6_forms_by_the_ipv4_address_they_carry():
    from ipaddress import ip_address

    assert not is_public(ip_address("::ffff:10.0.0.1"))
    assert is_public(ip_address("::ffff:1.1.1.1"))


def test_allowed_networks_setting_accepts_addresses_and_cidrs_and_rejects_garbage():
    assert Settings(crawl_allowed_networks=["10.1.2.3/24", "::1", "127.0.0.1"]).crawl_allowed_networks == [
        "10.1.2.0/24",
        "::1/128",
        "127.0.0.1/32",
    ]
    with pytest.raises(ValueError):
        Settings(crawl_allowed_networks=["not-a-network"])


def test_allowed_networks_default_to_none_and_allowing_adds_to_them():
    base = Settings()
    assert base.crawl_allowed_networks == []
    assert base.allowing("127.0.0.1/32").crawl_allowed_networks == ["127.0.0.1/32"]
    assert base.crawl_allowed_networks == []


def test_a_name_is_refused_when_any_address_it_resolves_to_is_refused():
    policy = AddressPolicy.of(["10.0.0.0/8"])
    assert policy.refusal("news.example", ["8.8.8.8", "10.1.1.1"]) is None
    assert policy.refusal("news.example", ["8.8.8.8", "127.0.0.1", "10.1.1.1"]) == "127.0.0.1"


def test_a_metadata_name_is_refused_before_its_addresses_are_looked_at():
    assert AddressPolicy.of(["0.0.0.0/0"]).refusal("metadata.google.internal", ["8.8.8.8"]) == "cloud metadata name"
