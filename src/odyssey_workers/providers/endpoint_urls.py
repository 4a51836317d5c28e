"""The rules a user-supplied endpoint URL (webhook or Discord) must meet, in one place.

Two levels, so registration and the send path cannot drift apart:

* ``undeliverable_reason`` — a URL that can never work: not ``http``/``https``, whitespace or
  control characters (CR/LF), over ``MAX_URL_LENGTH``, no host, a malformed host or port. The
  send path fails such a delivery permanently at once instead of retrying it for a day.
* ``registration_problems`` — all of the above, plus what a new endpoint must also meet:
  ``https`` (plain ``http`` only for hosts in ``WEBHOOK_ALLOW_HOSTS``), no ``user:password@``,
  and a host that is not a refused address literal. DNS names are checked against the refused
  ranges by the caller at registration and again by ``netguard`` on every connect.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import SplitResult, urlsplit

from odyssey_workers.errors import PermanentError

MAX_URL_LENGTH = 2048  # characters; the webhook_endpoints.url column holds no more
MAX_HOST_LENGTH = 253  # RFC 1035: a full domain name
SCHEMES = ("http", "https")
UNSAFE_CHARACTERS = frozenset('\\<>"{}|^`')
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LAST_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class InvalidEndpointUrl(PermanentError):
    """An endpoint URL that breaks the rules above; the message names the rule."""


def _host_problem(host: str) -> str | None:
    """What is malformed about the host part (brackets already removed for IPv6), if anything."""
    if not host:
        return "it has no host"
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    if ":" in host:
        return f"host {host!r} is not a valid IPv6 address"
    try:
        name = host.encode("idna").decode("ascii").lower() if not host.isascii() else host.lower()
    except UnicodeError:
        return f"host {host!r} is not a valid domain name"
    name = name.removesuffix(".")
    if len(name) > MAX_HOST_LENGTH:
        return f"host is longer than {MAX_HOST_LENGTH} characters"
    labels = name.split(".")
    if not all(_LABEL.match(label) for label in labels):
        return f"host {host!r} is not a valid domain name or IP address"
    if _NUMERIC_LAST_LABEL.match(labels[-1]):
        # 127.1, 2130706433, 0x7f.0.0.1: resolvers read these as IPv4 in forms that hide the address
        return f"host {host!r} is not a valid domain name or dotted-quad IPv4 address"
    return None


def _split(url: str) -> tuple[SplitResult | None, str | None]:
    if not isinstance(url, str) or not url:
        return None, "it is empty"
    if len(url) > MAX_URL_LENGTH:
        return None, f"it is {len(url)} characters long, over the limit of {MAX_URL_LENGTH}"
    bad = next((c for c in url if c.isspace() or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        return None, f"it contains whitespace or a control character ({bad!r})"
    unsafe = next((c for c in url if c in UNSAFE_CHARACTERS), None)
    if unsafe is not None:  # RFC 3986 excludes them; parsers disagree on "\\" (WHATWG reads it as "/")
        return None, f"it contains {unsafe!r}, a character URLs may not contain"
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return None, f"it cannot be parsed ({exc})"
    if parts.scheme.lower() not in SCHEMES:
        shown = f"scheme {parts.scheme!r}" if parts.scheme else "no scheme"
        return None, f"it is not an http:// or https:// URL ({shown})"
    try:
        parts.port  # noqa: B018 - urlsplit checks the port lazily
    except ValueError:
        return None, "its port is not a number from 1 to 65535"
    if parts.port == 0:
        return None, "its port is not a number from 1 to 65535"
    host = parts.netloc.rpartition("@")[2]
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else ""
        if not host:
            return None, "its IPv6 host has no closing bracket"
    else:
        host = host.rsplit(":", 1)[0]
    problem = _host_problem(host.split("%")[0])
    if problem:
        return None, problem
    import httpx  # the client that will send: it must read the same host (loaded only when checking)

    try:
        sent_to = httpx.URL(url).host.lower()
    except httpx.InvalidURL as exc:
        return None, f"it cannot be parsed ({exc})"
    if sent_to != (parts.hostname or "").lower():
        return None, f"its host reads as {parts.hostname!r} here but {sent_to!r} to the HTTP client"
    return parts, None


def undeliverable_reason(url: str) -> str | None:
    """Why no delivery to ``url`` can ever succeed, or None when it may."""
    return _split(url)[1]


def registration_problem(url: str, allow_hosts: Iterable[str] = ()) -> str | None:
    """Why ``url`` may not be registered as an endpoint, or None when it may (DNS not consulted)."""
    parts, problem = _split(url)
    if parts is None:
        return problem
    host = (parts.hostname or "").lower()
    allowed = host in {h.lower() for h in allow_hosts}
    if parts.scheme.lower() != "https" and not allowed:
        return "it must use https:// (plain http:// only for hosts in WEBHOOK_ALLOW_HOSTS)"
    if parts.username is not None or parts.password is not None:
        return "it carries a user name or password (user:password@host); put credentials in the secret instead"
    try:
        literal = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return None
    from odyssey_workers.providers.netguard import refusal_reason  # loads httpx: only when needed

    reason = None if allowed else refusal_reason(literal)
    return f"its host {host} is a refused address ({reason})" if reason else None


def check_registration(url: str, allow_hosts: Iterable[str] = ()) -> str:
    """``url`` unchanged when it may be registered; InvalidEndpointUrl naming the rule otherwise."""
    problem = registration_problem(url, allow_hosts)
    if problem:
        raise InvalidEndpointUrl(f"endpoint URL refused: {problem}")
    return url
