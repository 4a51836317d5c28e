"""The endpoint front door (register, list, rotate, disable) and stored URLs that can never work."""

from __future__ import annotations

import json
import re

import httpcore
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from jobs.notifications import endpoints as webhooks
from jobs.notifications.deliver import deliver_to
from jobs.notifications.models import WebhookEndpoint
from odyssey_workers.cli import main
from odyssey_workers.db.session import session_scope
from odyssey_workers.providers import netguard
from odyssey_workers.providers.endpoint_urls import MAX_URL_LENGTH, InvalidEndpointUrl, undeliverable_reason
from tests.notifications.conftest import attempts, deliveries, drain, set_env
from tests.notifications.test_webhooks import DATA, endpoint, endpoint_row, loopback_only_tripwire

__all__ = ["loopback_only_tripwire"]  # the autouse safety net of test_webhooks applies here too

PUBLIC_DNS = {"hooks.example.com": ["93.184.216.34"], "internal.example.com": ["93.184.216.34", "10.0.0.7"]}

# URL → the words the refusal must contain
BAD_REGISTRATIONS = {
    "ftp://hooks.example.com/x": "not an http:// or https:// URL (scheme 'ftp')",
    "javascript:alert(1)": "not an http:// or https:// URL (scheme 'javascript')",
    "hooks.example.com/x": "not an http:// or https:// URL (no scheme)",
    "http://hooks.example.com/x": "must use https://",
    "https://hooks.example.com/x\r\nX-Injected: 1": "whitespace or a control character ('\\r')",
    "https://hooks.example.com/a b": "whitespace or a control character (' ')",
    "https://hooks.example.com/\u200b": "whitespace or a control character ('\\u200b')",
    "https://hooks.example.com/" + "a" * MAX_URL_LENGTH: f"over the limit of {MAX_URL_LENGTH}",
    "https://[::1/x": "cannot be parsed",
    "https://evil.example\\@hooks.example.com/": "contains '\\\\', a character URLs may not contain",
    "https:///x": "it has no host",
    "https://hooks.example.com:99999/": "port is not a number from 1 to 65535",
    "https://hooks.example.com:0/": "port is not a number from 1 to 65535",
    "https://-bad-.example.com/": "not a valid domain name",
    "https://127.1/": "not a valid domain name or dotted-quad IPv4 address",
    "https://2130706433/": "not a valid domain name or dotted-quad IPv4 address",
    "https://0x7f.0.0.1/": "not a valid domain name or dotted-quad IPv4 address",
    "https://user:pw@hooks.example.com/": "carries a user name or password",
    "https://10.1.2.3/hook": "its host 10.1.2.3 is a refused address (private)",
    "https://169.254.169.254/latest": "refused address (cloud metadata)",
    "https://[::a9fe:a9fe]/": "IPv4-compatible IPv6 (embeds 169.254.169.254, cloud metadata)",
    "https://internal.example.com/hook": "refused internal.example.com: it resolves to 10.0.0.7, a private address",
    "https://nxdomain.example.com/hook": "cannot resolve nxdomain.example.com",
}


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers for the names the tests register; any other name does not resolve."""

    def resolve(host: str, port: int) -> list[str]:
        if host in PUBLIC_DNS:
            return PUBLIC_DNS[host]
        if host == "127.0.0.1":
            return ["127.0.0.1"]
        raise httpcore.ConnectError(f"cannot resolve {host}: no such name")

    monkeypatch.setattr(netguard, "resolver", resolve)


def stored_endpoints() -> list[WebhookEndpoint]:
    with session_scope() as session:
        return list(session.scalars(select(WebhookEndpoint)))


def test_registered_endpoint_is_signed_so_the_official_standard_webhooks_receiver_accepts_it(
    db, people, stub, monkeypatch
) -> None:
    sink = stub(lambda r: (204, {}, b""))
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = people(email=None)
    made = webhooks.register_endpoint(uid, f"{sink.url}/hook", events=["payment_success"])
    assert made.secret and made.secret.startswith("whsec_") and made.endpoint.events == ["payment_success"]
    deliver_to("payment_success", [uid], DATA, key="reg1")
    deliver_to("payout_sent", [uid], {"amount_minor": 5, "currency": "USD"}, key="reg2")  # not subscribed
    drain()
    [call] = sink.requests
    payload = Webhook(made.secret).verify(call.body, call.headers)
    assert payload["type"] == "payment_success" and payload["data"]["amount_minor"] == 700
    with pytest.raises(WebhookVerificationError):
        Webhook(made.secret).verify(call.body.replace(b"700", b"7000"), call.headers)
    assert [d.status for d in deliveries()] == ["sent"]


@pytest.mark.parametrize("url", sorted(BAD_REGISTRATIONS))
def test_registration_refuses_a_bad_url_naming_the_rule_and_stores_nothing(url: str, db, people) -> None:
    uid = people(email=None)
    with pytest.raises(InvalidEndpointUrl, match=re.escape(BAD_REGISTRATIONS[url])) as caught:
        webhooks.register_endpoint(uid, url)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("endpoint URL refused: ")
    assert stored_endpoints() == []


def test_registration_accepts_a_public_https_name_and_plain_http_only_for_allow_listed_hosts(
    db, people, monkeypatch
) -> None:
    uid = people(email=None)
    public = webhooks.register_endpoint(uid, "https://hooks.example.com/odyssey")
    assert public.endpoint.active and public.endpoint.kind == "webhook"
    with pytest.raises(InvalidEndpointUrl, match="must use https://"):
        webhooks.register_endpoint(uid, "http://127.0.0.1:9/hook")
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    local = webhooks.register_endpoint(uid, "http://127.0.0.1:9/hook")
    discord = webhooks.register_endpoint(uid, "https://hooks.example.com/api/webhooks/1/x", kind="discord")
    assert discord.secret is None
    assert [e.id for e in webhooks.list_endpoints(uid)] == [public.endpoint.id, local.endpoint.id, discord.endpoint.id]


def test_registration_names_an_unknown_user_event_kind_and_a_duplicate(db, people) -> None:
    uid = people(email=None)
    with pytest.raises(webhooks.EndpointError, match="no user with id 999"):
        webhooks.register_endpoint(999, "https://hooks.example.com/x")
    with pytest.raises(webhooks.EndpointError, match="unknown event 'payment_sucess'"):
        webhooks.register_endpoint(uid, "https://hooks.example.com/x", events=["payment_sucess"])
    with pytest.raises(webhooks.EndpointError, match="unknown endpoint kind 'slack'"):
        webhooks.register_endpoint(uid, "https://hooks.example.com/x", kind="slack")
    first = webhooks.register_endpoint(uid, "https://hooks.example.com/x")
    with pytest.raises(webhooks.EndpointError, match=f"already has an active endpoint {first.endpoint.id}"):
        webhooks.register_endpoint(uid, "https://hooks.example.com/x")
    assert len(stored_endpoints()) == 1


def test_rotation_signs_with_old_and_new_during_the_grace_period_and_only_new_after_a_zero_grace(
    db, people, stub, monkeypatch
) -> None:
    sink = stub(lambda r: (200, {}, b"ok"))
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = people(email=None)
    made = webhooks.register_endpoint(uid, f"{sink.url}/hook")
    rotated = webhooks.rotate_secret(made.endpoint.id, grace_seconds=3600)
    assert rotated.secret != made.secret and rotated.endpoint.previous_secret_expires_at is not None
    deliver_to("payment_success", [uid], DATA, key="rot1")
    drain()
    Webhook(made.secret).verify(sink.requests[0].body, sink.requests[0].headers)  # old key still accepted
    Webhook(rotated.secret).verify(sink.requests[0].body, sink.requests[0].headers)
    final = webhooks.rotate_secret(made.endpoint.id, grace_seconds=0)
    assert final.endpoint.previous_secret_expires_at is None
    deliver_to("payment_success", [uid], DATA, key="rot2")
    drain()
    second = sink.requests[1]
    assert len(second.headers["webhook-signature"].split()) == 1
    Webhook(final.secret).verify(second.body, second.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(rotated.secret).verify(second.body, second.headers)


def test_rotation_and_disable_name_an_unknown_or_unsuitable_endpoint(db, people) -> None:
    uid = people(email=None)
    discord = webhooks.register_endpoint(uid, "https://hooks.example.com/d", kind="discord")
    with pytest.raises(webhooks.EndpointError, match="no webhook endpoint with id 404"):
        webhooks.rotate_secret(404)
    with pytest.raises(webhooks.EndpointError, match="no webhook endpoint with id 404"):
        webhooks.disable_endpoint(404)
    with pytest.raises(webhooks.EndpointError, match="discord endpoint; it has no signing secret"):
        webhooks.rotate_secret(discord.endpoint.id)
    hook = webhooks.register_endpoint(uid, "https://hooks.example.com/w")
    with pytest.raises(webhooks.EndpointError, match="grace period must be 0 to"):
        webhooks.rotate_secret(hook.endpoint.id, grace_seconds=-1)
    webhooks.disable_endpoint(hook.endpoint.id)
    with pytest.raises(webhooks.EndpointError, match="is disabled"):
        webhooks.rotate_secret(hook.endpoint.id)


def test_disable_drops_queued_deliveries_and_stops_new_ones(db, people, stub, monkeypatch) -> None:
    sink = stub(lambda r: (200, {}, b"ok"))
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = people(email=None)
    made = webhooks.register_endpoint(uid, f"{sink.url}/hook")
    deliver_to("payment_success", [uid], DATA, key="off1")  # queued, not sent yet
    info = webhooks.disable_endpoint(made.endpoint.id, reason="creator closed the integration")
    assert not info.active and info.last_error == "creator closed the integration"
    drain()
    deliver_to("payment_success", [uid], DATA, key="off2")
    drain()
    assert sink.requests == []
    [row] = deliveries()
    assert row.status == "suppressed" and "disabled" in row.error
    assert webhooks.list_endpoints(uid, include_disabled=False) == []


NEVER_WORKS = {
    "ftp://hooks.example.com/x": "not an http:// or https:// URL",
    "https://hooks.example.com/x\r\nX-Injected: 1": "whitespace or a control character",
    "https://[::1/x": "cannot be parsed",
    "https://evil.example\\@hooks.example.com/": "a character URLs may not contain",
    "https://hooks.example.com:99999/": "port is not a number",
    "https://127.1/": "not a valid domain name or dotted-quad IPv4 address",
    "not a url": "whitespace or a control character",
}


def test_stored_url_that_can_never_work_fails_permanently_on_the_first_attempt(db, people, database_url) -> None:
    uid = people(email=None)
    cases = dict(NEVER_WORKS)
    if database_url.startswith("sqlite"):  # PostgreSQL's varchar(2048) refuses the row itself
        cases["https://hooks.example.com/" + "a" * MAX_URL_LENGTH] = "over the limit of 2048"
    ids = {url: endpoint(uid, url) for url in cases}
    deliver_to("payment_success", [uid], DATA, key="never1")
    drain()
    rows = {d.target: d for d in deliveries()}
    for url, words in cases.items():
        row = rows[f"endpoint:{ids[url]}"]
        assert row.status == "failed" and row.attempts == 1 and len(attempts(row.id)) == 1, url
        assert row.error.startswith("InvalidEndpointUrl: endpoint URL can never be delivered to: "), row.error
        assert words in row.error, url
        stored = endpoint_row(ids[url])
        assert stored.failing and words in (stored.last_error or "")


def test_send_path_and_registration_share_the_never_works_rules() -> None:
    for url in NEVER_WORKS:
        assert undeliverable_reason(url) is not None, url
    for url in ("https://hooks.example.com/x", "http://hooks.example.com/x", "https://user:pw@hooks.example.com/"):
        assert undeliverable_reason(url) is None, url  # these can work; registration refuses them for policy


def test_cli_registers_lists_rotates_and_disables_with_json_and_one_line_errors(db, people) -> None:
    runner = CliRunner()
    uid = people(email=None)
    made = runner.invoke(main, ["webhooks", "register", str(uid), "https://hooks.example.com/cli", "--json"])
    assert made.exit_code == 0, made.output
    registered = json.loads(made.output)
    assert registered["secret"].startswith("whsec_") and registered["url"] == "https://hooks.example.com/cli"
    endpoint_id = registered["id"]
    listed = runner.invoke(main, ["webhooks", "list", "--user", str(uid), "--json"])
    assert listed.exit_code == 0 and "whsec_" not in listed.output
    assert [e["id"] for e in json.loads(listed.output)] == [endpoint_id]
    rotated = runner.invoke(main, ["webhooks", "rotate", str(endpoint_id), "--grace-hours", "2"])
    assert (
        rotated.exit_code == 0
        and "new secret: whsec_" in rotated.output
        and "old secret signs too until" in rotated.output
    )
    disabled = runner.invoke(main, ["webhooks", "disable", str(endpoint_id)])
    assert disabled.exit_code == 0 and f"endpoint {endpoint_id} disabled" in disabled.output
    plain = runner.invoke(main, ["webhooks", "list"])
    assert f"{endpoint_id}  user {uid}" in plain.output and "disabled" in plain.output
    refused = runner.invoke(main, ["webhooks", "register", str(uid), "http://10.0.0.1/x"])
    assert refused.exit_code == 1 and refused.output.strip().count("\n") == 0
    assert "endpoint URL refused: it must use https://" in refused.output
    unknown = runner.invoke(main, ["webhooks", "rotate", "777"])
    assert unknown.exit_code == 1 and "no webhook endpoint with id 777" in unknown.output
