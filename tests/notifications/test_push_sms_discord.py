"""Push (Web Push end to end, FCM v1, APNs over HTTP/2), SMS (Twilio API) and Discord on loopback."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime

import http_ece
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from py_vapid import Vapid, Vapid02, b64urlencode

from jobs.notifications.deliver import deliver_to
from jobs.notifications.models import NotificationPreference, PushSubscription, WebhookEndpoint
from odyssey_workers.db.session import session_scope
from tests.notifications.conftest import attempts, deliveries, drain, set_env
from tests.notifications.loopback import H2Stub, json_reply, server_tls

LIVE = {"creator_name": "Ana", "stream_title": "Soundcheck", "url": "https://odyssey.test/live/1"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def add_device(uid: int, kind: str, token: str, p256dh: str | None = None, auth: str | None = None) -> int:
    with session_scope() as session:
        sub = PushSubscription(user_id=uid, kind=kind, token=token, p256dh=p256dh, auth=auth)
        session.add(sub)
        session.flush()
        return int(sub.id)


def device_active(sub_id: int) -> tuple[bool, str | None]:
    with session_scope() as session:
        sub = session.get(PushSubscription, sub_id)
        return sub.active, sub.deactivated_reason


def jwt_parts(token: str) -> tuple[dict, dict, bytes, bytes]:
    header, claims, signature = token.split(".")
    return (
        json.loads(unb64url(header)),
        json.loads(unb64url(claims)),
        f"{header}.{claims}".encode(),
        unb64url(signature),
    )


def test_web_push_payload_is_decrypted_by_the_push_service_with_the_subscription_key(
    db, people, stub, monkeypatch
) -> None:
    browser_key = ec.generate_private_key(ec.SECP256R1())
    auth_secret = os.urandom(16)
    p256dh = b64url(
        browser_key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    received: list[dict] = []

    def push_service(request):
        if request.path.endswith("/expired"):
            return 410, {}, b"push subscription has unsubscribed or expired"
        assert request.headers["content-encoding"] == "aes128gcm"
        Vapid02.verify(request.headers["authorization"])  # raises unless the VAPID JWT is signed right
        plaintext = http_ece.decrypt(
            request.body, private_key=browser_key, auth_secret=auth_secret, version="aes128gcm"
        )
        received.append(json.loads(plaintext))
        return 201, {"location": f"{service.url}/msg/1"}, b""

    service = stub(push_service)
    vapid = Vapid()
    vapid.generate_keys()
    private_raw = b64urlencode(vapid.private_key.private_numbers().private_value.to_bytes(32, "big"))
    set_env(monkeypatch, push_provider="live", vapid_private_key=private_raw, webhook_allow_hosts="127.0.0.1")
    uid = people()
    good = add_device(uid, "webpush", f"{service.url}/push/abc", p256dh, b64url(auth_secret))
    gone = add_device(uid, "webpush", f"{service.url}/push/expired", p256dh, b64url(auth_secret))
    deliver_to("live_alert", [uid], LIVE, key="wp1")
    drain()

    assert received == [
        {
            "title": "Ana is live: Soundcheck",
            "body": "Ana just went live: Soundcheck",
            "url": LIVE["url"],
            "key": received[0]["key"],
            "data": {},
        }
    ]
    status = {d.target: (d.status, d.provider) for d in deliveries()}
    assert status == {f"push:{good}": ("sent", "webpush"), f"push:{gone}": ("failed", "webpush")}
    assert device_active(good) == (True, None)
    active, reason = device_active(gone)
    assert not active and "expired (HTTP 410)" in reason
    deliver_to("live_alert", [uid], LIVE, key="wp2")  # the expired device is not used again
    assert {d.target for d in deliveries() if d.notification_id != deliveries()[0].notification_id} == {f"push:{good}"}


def test_fcm_v1_gets_a_service_account_token_and_deactivates_unregistered_tokens(
    db, people, stub, tmp_path, monkeypatch
) -> None:
    account_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def google(request):
        if request.path == "/token":
            form = dict(request.form())
            header, claims, signed, signature = jwt_parts(form["assertion"])
            account_key.public_key().verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
            assert (
                header["alg"] == "RS256" and claims["iss"] == "svc@p1.iam" and "firebase.messaging" in claims["scope"]
            )
            return json_reply(200, {"access_token": "ya29.loopback", "expires_in": 3600})
        assert request.path == "/v1/projects/p1/messages:send"
        assert request.headers["authorization"] == "Bearer ya29.loopback"
        message = request.json()["message"]
        if message["token"] == "dead-token":
            error = {
                "status": "NOT_FOUND",
                "details": [
                    {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}
                ],
            }
            return json_reply(404, {"error": error})
        assert message["notification"] == {"title": "Ana is live: Soundcheck", "body": "Ana just went live: Soundcheck"}
        return json_reply(200, {"name": "projects/p1/messages/42"})

    api = stub(google)
    account = tmp_path / "svc.json"
    pem = account_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    account.write_text(
        json.dumps({"client_email": "svc@p1.iam", "token_uri": f"{api.url}/token", "private_key": pem.decode()})
    )
    set_env(
        monkeypatch,
        push_provider="live",
        fcm_project_id="p1",
        fcm_api_base=api.url,
        fcm_service_account_file=str(account),
    )
    uid = people()
    live_device, dead_device = add_device(uid, "fcm", "live-token"), add_device(uid, "fcm", "dead-token")
    deliver_to("live_alert", [uid], LIVE, key="fcm1")
    drain()
    status = {d.target: (d.status, d.provider_message_id) for d in deliveries()}
    assert status[f"push:{live_device}"] == ("sent", "projects/p1/messages/42")
    assert status[f"push:{dead_device}"][0] == "failed"
    assert device_active(dead_device)[0] is False and device_active(live_device)[0] is True
    assert [r.path for r in api.requests].count("/token") == 1  # one token for the whole job


def test_apns_over_http2_with_a_signed_provider_token(db, people, cert, tmp_path, monkeypatch) -> None:
    apns_key = ec.generate_private_key(ec.SECP256R1())

    def apple(request):
        header, claims, signed, signature = jwt_parts(request.headers["authorization"].removeprefix("bearer "))
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        apns_key.public_key().verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
        assert header == {"alg": "ES256", "kid": "KEY123"} and claims["iss"] == "TEAM42"
        assert request.headers["apns-topic"] == "app.odyssey" and request.headers["apns-push-type"] == "alert"
        if request.path.endswith("/gone-device"):
            return json_reply(410, {"reason": "Unregistered", "timestamp": 1700000000000})
        assert json.loads(request.body)["aps"]["alert"]["title"] == "Ana is live: Soundcheck"
        return 200, {"apns-id": request.headers["apns-id"]}, b""

    server = H2Stub(server_tls(*cert, alpn=["h2"]), apple).start()
    try:
        pem = apns_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        set_env(
            monkeypatch,
            push_provider="live",
            apns_api_base=server.url,
            apns_key_id="KEY123",
            apns_team_id="TEAM42",
            apns_private_key=pem.decode(),
            apns_topic="app.odyssey",
            notifications_ca_file=str(cert[0]),
        )
        uid = people()
        phone, gone = add_device(uid, "apns", "good-device"), add_device(uid, "apns", "gone-device")
        deliver_to("live_alert", [uid], LIVE, key="apns1")
        drain()
    finally:
        server.stop()
    assert set(server.protocols) == {"h2"}
    assert {r.path for r in server.requests} == {"/3/device/good-device", "/3/device/gone-device"}
    status = {d.target: d for d in deliveries()}
    assert status[f"push:{phone}"].status == "sent" and len(status[f"push:{phone}"].provider_message_id) == 36
    assert status[f"push:{gone}"].status == "failed" and device_active(gone)[0] is False


def sms_on(uid: int) -> None:
    with session_scope() as session:
        session.add(NotificationPreference(user_id=uid, category="live_alert", channel="sms", enabled=True))


def test_twilio_sms_is_posted_with_basic_auth(db, people, stub, monkeypatch) -> None:
    api = stub(lambda r: json_reply(201, {"sid": "SM123", "status": "queued"}))
    set_env(
        monkeypatch,
        sms_provider="twilio",
        twilio_api_base=api.url,
        twilio_account_sid="AC1",
        twilio_auth_token="tok",
        twilio_from_number="+15005550006",
    )
    uid = people(phone="+14155550123")
    sms_on(uid)
    deliver_to("live_alert", [uid], LIVE, key="sms1")
    drain()
    [call] = api.requests
    assert call.path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert call.headers["authorization"] == "Basic " + base64.b64encode(b"AC1:tok").decode()
    form = dict(call.form())
    assert form["To"] == "+14155550123" and form["From"] == "+15005550006" and "Soundcheck" in form["Body"]
    assert [(d.status, d.provider_message_id) for d in deliveries(channel="sms")] == [("sent", "SM123")]


def test_invalid_phone_number_fails_with_a_clear_error_and_nothing_is_sent(db, people, stub, monkeypatch) -> None:
    api = stub()
    set_env(
        monkeypatch,
        sms_provider="twilio",
        twilio_api_base=api.url,
        twilio_account_sid="AC1",
        twilio_auth_token="tok",
        twilio_from_number="+15005550006",
    )
    uid = people(phone="555-0123")
    sms_on(uid)
    deliver_to("live_alert", [uid], LIVE, key="sms2")
    drain()
    [row] = deliveries(channel="sms")
    assert row.status == "failed" and row.attempts == 1
    assert "invalid phone number '555-0123': expected E.164" in row.error
    assert api.requests == []


def discord_endpoint(uid: int, url: str) -> None:
    with session_scope() as session:
        session.add(WebhookEndpoint(user_id=uid, kind="discord", url=url, events=["live_alert"]))


def test_discord_429_waits_retry_after_then_posts_the_embed_once(db, people, stub, monkeypatch) -> None:
    answers = iter([json_reply(429, {"message": "You are being rate limited.", "retry_after": 0.2, "global": False})])
    api = stub(lambda r: next(answers, json_reply(200, {"id": "1122"})))
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = people(email=None)
    discord_endpoint(uid, f"{api.url}/api/webhooks/1/secret")
    deliver_to("live_alert", [uid], LIVE, key="dc1")
    drain()
    assert len(api.requests) == 2 and api.requests[1].path == "/api/webhooks/1/secret?wait=true"
    body = api.requests[1].json()
    assert body["embeds"][0]["title"] == "Ana is live: Soundcheck" and body["embeds"][0]["url"] == LIVE["url"]
    assert body["allowed_mentions"] == {"parse": []}
    [row] = deliveries()
    assert (row.status, row.provider_message_id, row.attempts) == ("sent", "1122", 1)


def test_discord_long_429_is_rescheduled_after_the_named_wait(db, people, stub, monkeypatch) -> None:
    api = stub(lambda r: json_reply(429, {"message": "slow down", "retry_after": 120.0, "global": True}))
    set_env(monkeypatch, webhook_allow_hosts="127.0.0.1")
    uid = people(email=None)
    discord_endpoint(uid, f"{api.url}/api/webhooks/1/secret")
    deliver_to("live_alert", [uid], LIVE, key="dc2")
    drain()
    [row] = deliveries()
    assert row.status == "queued" and "retry after 120.0s" in row.error
    wait = (row.scheduled_for - datetime.now(UTC)).total_seconds()
    assert 100 < wait <= 120
    assert [a.http_status for a in attempts(row.id)] == [429]
