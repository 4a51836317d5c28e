"""What keeps other web pages from using the operator's dashboard: headers, Host, Origin, CSRF.

rq-dashboard has no protection of its own. A page the operator visits could post to the
loopback dashboard (CSRF), or reach it under its own name through DNS rebinding and then read
it as same-origin. So every response carries a Content-Security-Policy without inline script
(a job's data can never run as code), every request must name an allowed Host, and every
state change must be a POST from the dashboard's own origin carrying the session's CSRF token.

The CSRF token is an HMAC of a random cookie under a per-process secret: a page on another
loopback port can set cookies for the same host, but cannot make a token that matches them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, g, request

CSRF_COOKIE = "odyssey_dashboard_session"
CSRF_HEADER = "X-CSRFToken"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def allowed_hosts(dashboard_host: str, extra_hosts: str) -> frozenset[str]:
    """Loopback names, the bound address (unless a wildcard), and the comma-separated extras."""
    hosts = set(LOOPBACK_NAMES)
    bound = dashboard_host.strip().lower().strip("[]")
    if bound and not _is_wildcard(bound):
        hosts.add(bound)
    hosts.update(name.strip().lower().strip("[]") for name in extra_hosts.split(",") if name.strip())
    return frozenset(hosts)


def _is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def host_name(netloc: str) -> str:
    """``example.org:9181`` -> ``example.org``; ``[::1]:9181`` -> ``::1`` (lower case)."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1:].partition("]")[0]
    return netloc.rpartition(":")[0] if netloc.count(":") == 1 else netloc


def state_changing_endpoints(app: Flask) -> frozenset[str]:
    """Every endpoint that accepts POST: rq-dashboard's delete, requeue, empty, compact..."""
    return frozenset(rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ()))


class DashboardGuard:
    """Installs the checks on a Flask app; ``hosts`` is the Host allow-list (names, no ports)."""

    def __init__(self, hosts: frozenset[str]) -> None:
        self.hosts = hosts
        self._secret = secrets.token_bytes(32)
        self._state_changing: frozenset[str] = frozenset()

    def install(self, app: Flask) -> None:
        """Call after every blueprint is registered, so all state-changing routes are known."""
        self._state_changing = state_changing_endpoints(app)
        app.before_request(self.check_request)
        app.after_request(self.finish_response)
        app.jinja_env.globals["csrf_token"] = self.csrf_token

    def check_request(self) -> Response | None:
        host = host_name(request.host)
        if host not in self.hosts:
            # A DNS-rebinding page reaches us under its own name; Host is the only sign of it.
            return _refuse(
                400, f"Host {host!r} is not allowed: add it to DASHBOARD_ALLOWED_HOSTS if it names this dashboard"
            )
        if request.method in SAFE_METHODS:
            if request.endpoint in self._state_changing:
                return _refuse(405, f"{request.path} changes state: use POST", {"Allow": "POST"})
            return None
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if not origin:
            return _refuse(403, "a state change needs an Origin or Referer header from the dashboard's own page")
        if urlsplit(origin).netloc.lower() != request.host.lower():
            return _refuse(403, f"a state change from another site ({urlsplit(origin).netloc or origin!r}) is refused")
        given = request.headers.get(CSRF_HEADER, "")
        session = request.cookies.get(CSRF_COOKIE, "")
        # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
        if not given or not session or not hmac.compare_digest(given.encode(), self._token_for(session).encode()):
            return _refuse(403, f"a state change needs the {CSRF_HEADER} header of this session: reload the page")
        return None

    def csrf_token(self) -> str:
        """The token for this request's session (starting a session when it has none)."""
        session = request.cookies.get(CSRF_COOKIE) or g.get("new_dashboard_session")
        if not session:
            session = g.new_dashboard_session = secrets.token_urlsafe(32)
        return self._token_for(session)

    def finish_response(self, response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        new_session = g.get("new_dashboard_session")
        if new_session:
            response.set_cookie(CSRF_COOKIE, new_session, httponly=True, samesite="Strict")
        return response

    def _token_for(self, session: str) -> str:
        return hmac.new(self._secret, session.encode(), hashlib.sha256).hexdigest()


def _refuse(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status, headers, mimetype="text/plain")
