"""Signed webhooks: the receiver's checks, retries and the connect-time address refusal."""

from __future__ import annotations

import re
import time

import httpcore
import pytest
from sqlalchemy import select

from jobs.notifications.deliver import deliver_to
from jobs.notifications.models import WebhookEndpoint
from odyssey_workers.db.session import session_scope
from odyssey_workers.providers import netguard, webhooks
from odyssey_workers.providers.outcomes import AddressRefused
from tests.notifications.conftest import attempts, deliveries, drain, set_env

DATA = {"amount_minor": 700, "currency": "USD", "description": "Tip"}
REFUSED = {
    "127.0.0.1": "loopback",
    "localhost": "loopback",
    "10.1.2.3": "private",
    "172.16.5.4": "private",
    "192.168.1.10": "private",
    "100.64.0.1": "CGNAT",
    "169.254.169.254": "cloud metadata",
    "169.254.10.1": "link-local",
    "[::1]": "loopback",
    "[::ffff:127.0.0.1]": "IPv4-mapped IPv6",
    "[::ffff:10.0.0.1]": "IPv4-mapped IPv6",
    "[64:ff9b::a00:1]": "NAT64",
    "[fe80::1]": "link-local",
    "[fd12::1]": "private (ULA)",
    "0.0.0.0": "unspecified",
}


@pytest.fixture(autouse=True)
def loopback_only_tripwire(monkeypatch: pytest.MonkeyPatch) -> None:
    """Safety net: whatever the guard decides, no test connects anywhere but loopback."""
    real = httpcore.SyncBackend.connect_tcp

    def connect(self, host, port, *args, **kwargs):
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to connect to {host}")
        return real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect)


def endpoint(uid: int, url: str, secret: str | None = None, previous: str | None = None) -> int:
    with session_scope() as session:
        row = WebhookEndpoint(
            user_id=uid, url=url, secret=secret or webhooks.generate_secret(), previous_secret=previous
        )
        session.add(row)
        session.flush()
        return int(row.id)


def endpoint_row(endpoint_id: int) -> WebhookEndpoint:
    with session_scope() as session:
        return session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)).one()


def test_receiver_verifies_signature_and_rejects_tampered_body_and_stale_timestamp(
    db, people, stub, monkeypatch
) -> None:
    secret = webhooks.generate_secret()
    verdicts: list[str] = []

    def receiver(request):
        try:
            webhooks.verify([secret], request.headers, request.body)
            verdicts.append("ok")
        except webhooks.WebhookVerificationError as exc:
            verdicts.append(str(exc))
        return 204, {}, b""

    sink = stub(receiver)
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = people(email=None)
    endpoint(uid, f"{sink.url}/hook", secret)
    deliver_to("payment_success", [uid], DATA, key="wh1")
    drain()
    [call] = sink.requests
    assert verdicts == ["ok"]
    assert call.headers["webhook-id"] == deliveries()[0].idempotency_key
    assert call.headers["webhook-signature"].startswith("v1,")
    body = call.body
    with pytest.raises(webhooks.WebhookVerificationError, match="no signature matches"):
        webhooks.verify([secret], call.headers, body.replace(b"700", b"70000"))
    with pytest.raises(webhooks.WebhookVerificationError, match="stale"):
        webhooks.verify([secret], call.headers, body, now=time.time() + 3600)
    assert deliveries()[0].status == "sent"


def test_rotation_signs_with_both_secrets_so_either_verifies(db, people, stub, monkeypatch) -> None:
    old, new = webhooks.generate_secret(), webhooks.generate_secret()
    sink = stub(lambda r: (200, {}, b"ok"))
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = people(email=None)
    endpoint(uid, f"{sink.url}/hook", secret=new, previous=old)
    deliver_to("payment_success", [uid], DATA, key="wh2")
    drain()
    [call] = sink.requests
    assert len(call.headers["webhook-signature"].split()) == 2
    webhooks.verify([old], call.headers, call.body)
    webhooks.verify([new], call.headers, call.body)
    with pytest.raises(webhooks.WebhookVerificationError):
        webhooks.verify([webhooks.generate_secret()], call.headers, call.body)


@pytest.mark.parametrize("host", sorted(REFUSED))
def test_refused_address_classes_are_named(host: str) -> None:
    with pytest.raises(AddressRefused, match=re.escape(REFUSED[host])):
        netguard.checked_addresses(host, 443)


def test_webhook_to_a_refused_address_fails_at_connect_without_the_allow_list(db, people, stub) -> None:
    sink = stub()
    uid = people(email=None)
    ids = {
        host: endpoint(uid, f"http://{host}:{sink.port}/hook")
        for host in (
            "127.0.0.1",
            "localhost",
            "[::ffff:127.0.0.1]",
            "169.254.169.254",
            "100.64.0.1",
            "10.1.2.3",
            "[64:ff9b::a00:1]",
        )
    }
    deliver_to("payment_success", [uid], DATA, key="wh3")
    drain()
    assert sink.requests == []  # nothing reached the loopback receiver
    rows = {d.target: d for d in deliveries()}
    for host, endpoint_id in ids.items():
        row = rows[f"endpoint:{endpoint_id}"]
        assert row.status == "failed" and row.attempts == 1, host
        assert f"AddressRefused: refused {host.strip('[]')}" in row.error and REFUSED[host] in row.error


def test_dns_answer_that_changes_after_the_check_is_caught_at_connect(db, people, stub, monkeypatch) -> None:
    sink = stub()
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # public when registered, loopback when sending
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    monkeypatch.setattr(netguard, "resolver", rebinding)
    assert netguard.checked_addresses("hooks.rebind.test", 80) == ["93.184.216.34"]  # the registration check passes
    uid = people(email=None)
    endpoint(uid, f"http://hooks.rebind.test:{sink.port}/hook")
    deliver_to("payment_success", [uid], DATA, key="wh4")
    drain()
    [row] = deliveries()
    assert row.status == "failed" and "refused hooks.rebind.test: it resolves to 127.0.0.1, a loopback" in row.error
    assert sink.requests == [] and lookups == ["hooks.rebind.test", "hooks.rebind.test"]


def test_guard_connects_to_the_address_it_checked_not_a_fresh_lookup(db, people, stub, monkeypatch) -> None:
    sink = stub(lambda r: (200, {}, b"ok"))
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])
    monkeypatch.setattr(netguard, "resolver", lambda host, port: next(answers))
    set_env(monkeypatch, webhook_allow_hosts="sink.test")
    uid = people(email=None)
    endpoint(uid, f"http://sink.test:{sink.port}/hook")
    deliver_to("payment_success", [uid], DATA, key="wh5")
    drain()
    assert deliveries()[0].status == "sent"
    assert sink.requests[0].headers["host"] == f"sink.test:{sink.port}"  # Host names the original host


def test_redirect_is_not_followed_and_is_retried_as_a_failure(db, people, stub, monkeypatch) -> None:
    target = stub(lambda r: (200, {}, b"ok"))
    sink = stub(lambda r: (302, {"location": f"{target.url}/elsewhere"}, b""))
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = people(email=None)
    endpoint_id = endpoint(uid, f"{sink.url}/hook")
    deliver_to("payment_success", [uid], DATA, key="wh6")
    drain()
    assert target.requests == [] and len(sink.requests) == 3  # first try + the two scheduled retries
    [row] = deliveries()
    assert (
        row.status == "failed" and "gave up after 3 attempts" in row.error and "redirects are not followed" in row.error
    )
    assert endpoint_row(endpoint_id).failing


def test_hanging_endpoint_times_out_and_is_retried(db, people, stub, monkeypatch) -> None:
    calls = iter(["hang", "ok"])

    def slow(request):
        if next(calls) == "hang":
            time.sleep(1.5)
        return 200, {}, b"ok"

    sink = stub(slow)
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1", webhook_timeout_seconds="0.5")
    uid = people(email=None)
    endpoint(uid, f"{sink.url}/hook")
    deliver_to("payment_success", [uid], DATA, key="wh7")
    drain()
    [row] = deliveries()
    assert row.status == "sent" and row.attempts == 2
    first, second = attempts(row.id)
    assert first.status == "failed" and "timed out" in first.error and second.status == "sent"
    assert sink.requests[0].headers["webhook-id"] == sink.requests[1].headers["webhook-id"]  # same id on retry


def test_500_is_retried_on_the_growing_schedule_then_the_endpoint_is_marked_failing(
    db, people, stub, monkeypatch
) -> None:
    sink = stub(lambda r: (500, {}, b"boom"))
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1", webhook_retry_schedule="0,2")
    uid = people(email=None)
    endpoint_id = endpoint(uid, f"{sink.url}/hook")
    deliver_to("payment_success", [uid], DATA, key="wh8")
    drain()
    [row] = deliveries()
    history = attempts(row.id)
    assert [a.http_status for a in history] == [500, 500, 500]
    assert (history[2].at - history[1].at).total_seconds() >= 1  # the second wait is the longer one
    assert row.status == "failed" and "gave up after 3 attempts" in row.error
    failing = endpoint_row(endpoint_id)
    assert failing.failing and failing.failing_since is not None and "HTTP 500" in failing.last_error


def test_default_webhook_schedule_spans_about_a_day() -> None:
    from jobs.notifications.channels import retry_schedule
    from jobs.notifications.settings import NotificationsSettings

    schedule = retry_schedule("webhook", NotificationsSettings())
    assert schedule == sorted(schedule) and 20 * 3600 <= sum(schedule) <= 30 * 3600
