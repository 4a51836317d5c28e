"""Every range the connect-time guard refuses, each with an example, from a literal and from DNS."""

from __future__ import annotations

import ipaddress
import re

import httpcore
import pytest

from odyssey_workers.providers import netguard
from odyssey_workers.providers.outcomes import AddressRefused

# network → (an example address inside it, the words the refusal must say)
EXAMPLES: dict[str, tuple[str, str]] = {
    "0.0.0.0/8": ("0.1.2.3", "unspecified"),
    "10.0.0.0/8": ("10.20.30.40", "private"),
    "100.64.0.0/10": ("100.100.1.1", "CGNAT"),
    "127.0.0.0/8": ("127.0.0.2", "loopback"),
    "169.254.0.0/16": ("169.254.10.1", "link-local"),
    "172.16.0.0/12": ("172.31.255.1", "private"),
    "192.0.0.0/24": ("192.0.0.8", "IETF protocol assignments"),
    "192.0.2.0/24": ("192.0.2.10", "documentation"),
    "192.88.99.0/24": ("192.88.99.1", "6to4 relay anycast"),
    "192.168.0.0/16": ("192.168.1.10", "private"),
    "198.18.0.0/15": ("198.19.0.1", "benchmarking"),
    "198.51.100.0/24": ("198.51.100.7", "documentation"),
    "203.0.113.0/24": ("203.0.113.9", "documentation"),
    "224.0.0.0/4": ("239.1.1.1", "multicast"),
    "255.255.255.255/32": ("255.255.255.255", "broadcast"),
    "240.0.0.0/4": ("250.1.2.3", "reserved"),
    "::/128": ("::", "unspecified"),
    "::1/128": ("::1", "loopback"),
    "::ffff:0:0/96": ("::ffff:169.254.169.254", "IPv4-mapped IPv6 (embeds 169.254.169.254, cloud metadata)"),
    "::ffff:0:0:0/96": ("::ffff:0:a9fe:a9fe", "IPv4-translated IPv6 (embeds 169.254.169.254, cloud metadata)"),
    "::/96": ("::a9fe:a9fe", "IPv4-compatible IPv6 (embeds 169.254.169.254, cloud metadata)"),
    "64:ff9b::/96": ("64:ff9b::a00:1", "NAT64 (embeds 10.0.0.1, private)"),
    "64:ff9b:1::/48": ("64:ff9b:1::1", "NAT64"),
    "::/8": ("::1:0:0:1", "reserved"),
    "100::/64": ("100::1", "discard-only"),
    "2001::/32": ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo (embeds 192.0.2.45, documentation)"),
    "2001:2::/48": ("2001:2::1", "benchmarking"),
    "2001:db8::/32": ("2001:db8::1", "documentation"),
    "2001::/23": ("2001:10::1", "IETF protocol assignments"),
    "2002::/16": ("2002:c0a8:101::1", "6to4 (embeds 192.168.1.1, private)"),
    "3fff::/20": ("3fff::1", "documentation"),
    "5f00::/16": ("5f00::1", "segment routing (SRv6)"),
    "fc00::/7": ("fd12::1", "private (ULA)"),
    "fe80::/10": ("fe80::1", "link-local"),
    "fec0::/10": ("fec0::1", "site-local"),
    "ff00::/8": ("ff02::1", "multicast"),
}
EXTRA_REFUSED = {
    "169.254.169.254": "cloud metadata",
    "fd00:ec2::254": "cloud metadata",
    "::127.0.0.1": "IPv4-compatible IPv6 (embeds 127.0.0.1, loopback)",
    "::ffff:0:7f00:1": "IPv4-translated IPv6 (embeds 127.0.0.1, loopback)",
    "64:ff9b::808:808": "NAT64 (embeds 8.8.8.8, public)",  # the form itself is refused
    "2002:808:808::1": "6to4 (embeds 8.8.8.8, public)",
    "fe80::1%eth0": "link-local",
}


@pytest.fixture(autouse=True)
def no_real_connects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Safety net: a guard that let an address through must fail the test, not reach it."""

    def connect(self: object, host: str, port: int, *args: object, **kwargs: object) -> None:
        raise AssertionError(f"the guard let a connect to {host} through")

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect)


PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:81c::200e"]


def test_every_named_range_has_an_example_here() -> None:
    assert sorted(EXAMPLES) == sorted(net for net, _ in netguard.NAMED_NETWORKS)
    for network, (address, _) in EXAMPLES.items():
        assert ipaddress.ip_address(address.split("%")[0]) in ipaddress.ip_network(network), network


REFUSED = {address: reason for address, reason in EXAMPLES.values()} | EXTRA_REFUSED


@pytest.mark.parametrize("address", sorted(REFUSED))
def test_refused_literal_names_its_class(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(AddressRefused, match=re.escape(f"a {REFUSED[address]} address")):
        netguard.checked_addresses(host, 443)


@pytest.mark.parametrize("address", sorted(REFUSED))
def test_refused_dns_answer_names_its_class(address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netguard, "resolver", lambda host, port: ["93.184.216.34", address])  # A + AAAA
    with pytest.raises(AddressRefused, match=re.escape(f"refused hooks.example.net: it resolves to {address}")):
        netguard.checked_addresses("hooks.example.net", 443)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_address_is_allowed_from_a_literal_and_from_dns(address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert netguard.refusal_reason(address) is None
    host = f"[{address}]" if ":" in address else address
    assert netguard.checked_addresses(host, 443) == [address]
    monkeypatch.setattr(netguard, "resolver", lambda host, port: [address])
    assert netguard.checked_addresses("hooks.example.net", 443) == [address]


@pytest.mark.parametrize("url", ["http://[::a9fe:a9fe]/latest/meta-data/", "http://[::ffff:0:7f00:1]:8080/"])
def test_client_refuses_an_ipv4_compatible_or_translated_literal_before_connecting(url: str) -> None:
    with netguard.guarded_client() as client, pytest.raises(AddressRefused, match="embeds"):
        client.get(url)


def test_client_refuses_a_name_whose_aaaa_answer_is_ipv4_compatible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netguard, "resolver", lambda host, port: ["::127.0.0.1"])
    with (
        netguard.guarded_client() as client,
        pytest.raises(AddressRefused, match=re.escape("embeds 127.0.0.1, loopback")),
    ):
        client.get("http://aaaa-only.example.net/")
