"""Refuse outgoing connections to internal addresses, checked at connect time.

User-supplied URLs (webhook endpoints, Discord webhooks, Web Push endpoints) must not reach the
platform's own network. The check runs inside the HTTP client's connect step: the host is
resolved *once*, every answer is checked, and the socket connects to a checked IP — the name is
never resolved again, so a DNS answer that changes between a check and the connect (rebinding)
cannot slip through. TLS still verifies, and the ``Host`` header still names, the original host.

Refused: every range in ``NAMED_NETWORKS`` (loopback, private RFC 1918 and ULA, link-local incl.
the 169.254.169.254 metadata address, CGNAT, unspecified, multicast, broadcast, reserved,
documentation and benchmarking ranges, site-local) and anything else not globally routable.
IPv6 forms that carry an IPv4 address — IPv4-compatible ``::a.b.c.d``, IPv4-mapped
``::ffff:a.b.c.d``, IPv4-translated ``::ffff:0:a.b.c.d``, NAT64, 6to4 and Teredo — are refused
whatever they embed (a host reaching them may route them to the embedded IPv4), and the reason
names the embedded IPv4 and its class. Hosts named in ``WEBHOOK_ALLOW_HOSTS`` are exempt (test
sinks).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import typing
from collections.abc import Callable, Iterable

import httpcore
import httpx

from odyssey_workers.providers.outcomes import AddressRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
# Checked in order, so the more specific name wins (the metadata address is checked first).
NAMED_NETWORKS: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "CGNAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("::ffff:0:0/96", "IPv4-mapped IPv6"),
    ("::ffff:0:0:0/96", "IPv4-translated IPv6"),
    ("::/96", "IPv4-compatible IPv6"),
    ("64:ff9b::/96", "NAT64"),
    ("64:ff9b:1::/48", "NAT64"),
    ("::/8", "reserved"),
    ("100::/64", "discard-only"),
    ("2001::/32", "Teredo"),
    ("2001:2::/48", "benchmarking"),
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "IETF protocol assignments"),
    ("2002::/16", "6to4"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "segment routing (SRv6)"),
    ("fc00::/7", "private (ULA)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)
_NETWORKS = [(ipaddress.ip_network(net), name) for net, name in NAMED_NETWORKS]


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition form carries, or None when it carries none.

    Compatible, mapped, translated and NAT64 (64:ff9b::/96) put it in the last 32 bits, 6to4 in
    bits 16-48, Teredo (obfuscated: inverted) in the last 32 bits.
    """
    value = int(ip)
    low32 = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip.teredo:
        return ip.teredo[1]
    if ip.sixtofour:
        return ip.sixtofour
    for prefix in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96"):
        if ip in ipaddress.ip_network(prefix) and value > 1:  # :: and ::1 are not IPv4 carriers
            return low32
    return None


def refusal_reason(address: str | IPAddress) -> str | None:
    """Why ``address`` must not be connected to, or None when it is a public address."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(int(ip))  # fe80::1%eth0: the zone does not change the class
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    for network, name in _NETWORKS:
        if ip.version == network.version and ip in network:
            if isinstance(ip, ipaddress.IPv6Address):
                inner = embedded_ipv4(ip)
                if inner is not None:
                    return f"{name} (embeds {inner}, {refusal_reason(inner) or 'public'})"
            return name
    if not ip.is_global:
        return "not globally routable"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (A and AAAA), in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


resolver: Resolver = system_resolver
"""The resolver the guard uses; tests swap it to simulate DNS answers that change."""


def checked_addresses(host: str, port: int, allow_hosts: Iterable[str] = ()) -> list[str]:
    """Resolve ``host`` once and return the addresses that may be connected to.

    Raises AddressRefused naming the host, the address and the class when any answer is refused
    (a name that resolves to an internal address is not used at all, even if it has others).
    """
    bare = host.strip("[]").lower()
    if bare in {h.lower() for h in allow_hosts}:
        return resolver(bare, port)
    try:
        addresses = [str(ipaddress.ip_address(bare))]
    except ValueError:
        addresses = resolver(bare, port)
    if not addresses:
        raise AddressRefused(f"refused {host}: it resolves to no address")
    for address in addresses:
        reason = refusal_reason(address)
        if reason:
            raise AddressRefused(f"refused {host}: it resolves to {address}, a {reason} address")
    return addresses


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with the address check in ``connect_tcp``."""

    def __init__(self, allow_hosts: Iterable[str] = ()) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow = frozenset(h.lower() for h in allow_hosts)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        last_error: Exception | None = None
        for address in checked_addresses(host, port, self._allow):
            try:
                return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the next checked address
                last_error = exc
        raise last_error or httpcore.ConnectError(f"cannot connect to {host}")

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: typing.Any = None
    ) -> httpcore.NetworkStream:
        raise AddressRefused("refused: unix sockets are not an allowed destination")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """An httpx transport that connects only to checked public addresses, never via a proxy."""

    def __init__(self, allow_hosts: Iterable[str] = (), verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(verify=verify, trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify, trust_env=False),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow_hosts),
        )


def guarded_client(
    allow_hosts: Iterable[str] = (), timeout: float = 15.0, verify: ssl.SSLContext | bool = True
) -> httpx.Client:
    """A client for user-supplied URLs: guarded connects, no redirects, no proxies, a hard timeout."""
    return httpx.Client(
        transport=GuardedTransport(allow_hosts, verify=verify),
        follow_redirects=False,
        timeout=httpx.Timeout(timeout),
        trust_env=False,
    )
