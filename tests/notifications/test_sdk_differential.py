"""Differential tests: each provider's official Python SDK and our provider code send the same
message to one recording loopback server, and the two requests must match.

Compared: method, path, query, the headers that matter (``Authorization`` scheme and value,
the body's media type, API version headers where the provider requires one) and the body's
fields, parsed to data first (JSON, form-encoded). Not compared, because they describe the
client and not the message: ``User-Agent`` and SDK telemetry headers (``X-Twilio-Client``,
``X-Goog-Api-Client``, ``X-Firebase-Client``), ``Accept``/``Accept-Charset``/``Accept-Encoding``,
``Connection``, ``Host`` and ``Content-Length``.

SDKs (pinned in requirements.lock): ``sendgrid`` (Twilio SendGrid), ``mailgun`` (Mailgun's own
SDK; ``mailgun2`` on the index is a third-party client for the retired v2 API), ``twilio`` and
``firebase-admin`` (``messaging.send`` to the FCM HTTP v1 endpoint, with the OAuth token
exchange going to the same loopback server). Every SDK accepts a plain-http loopback base URL;
the Twilio case also runs over TLS. APNs is left out: Apple publishes no Python SDK.
"""

from __future__ import annotations

import base64
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import firebase_admin
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import credentials, messaging
from mailgun.builders import MailgunMessageBuilder
from mailgun.client import Client as MailgunClient
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, CustomArg, From, Header, Mail, Personalization, Substitution, To
from twilio.rest import Client as TwilioClient

from odyssey_workers.providers.email_common import EmailBatch, OutgoingEmail, Recipient
from odyssey_workers.providers.email_mailgun import MailgunMailer
from odyssey_workers.providers.email_sendgrid import SendgridMailer
from odyssey_workers.providers.fcm import SCOPE, FcmSender, ServiceAccountToken
from odyssey_workers.providers.httpapi import provider_client
from odyssey_workers.providers.push_common import PushMessage
from odyssey_workers.providers.sms import TwilioSms
from tests.notifications.loopback import make_cert, server_tls
from tests.support.recording_http import Answer, RecordedRequest, RecordingServer

MATTERING_HEADERS = ("authorization", "idempotency-key")


def headers_that_matter(request: RecordedRequest, *extra: str) -> dict[str, str]:
    """Auth, idempotency and the given headers, plus the body's media type: a charset or
    multipart boundary parameter is transport detail, not part of the message."""
    names = (*MATTERING_HEADERS, *extra)
    chosen = {name: request.headers[name] for name in names if name in request.headers}
    chosen["content-type"] = request.content_type
    return chosen


def assert_same_request(sdk: RecordedRequest, ours: RecordedRequest, *extra_headers: str) -> None:
    assert (ours.method, ours.path, ours.query) == (sdk.method, sdk.path, sdk.query)
    assert headers_that_matter(ours, *extra_headers) == headers_that_matter(sdk, *extra_headers)


def only_request(server: RecordingServer) -> RecordedRequest:
    taken = server.take()
    assert len(taken) == 1, [f"{r.method} {r.path}" for r in taken]
    return taken[0]


def provider_answer(request: RecordedRequest) -> Answer:
    """Each API's success answer, as small as its SDK accepts without raising."""
    if request.path.endswith("/mail/send"):
        return Answer(202, None, {"x-message-id": "sg-1"})
    if request.path.endswith("/messages"):
        return Answer(200, {"id": "<mg-1@mg.example.com>", "message": "Queued. Thank you."})
    if request.path.endswith("/Messages.json"):
        return Answer(201, {"sid": "SM0001", "status": "queued"})
    if request.path == "/token":
        return Answer(200, {"access_token": "ya29.loopback", "expires_in": 3600, "token_type": "Bearer"})
    if request.path.endswith("/messages:send"):
        return Answer(200, {"name": "projects/odyssey-test/messages/0:1"})
    return Answer(404, {"error": f"no such path {request.path}"})


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer(provider_answer) as recording:
        yield recording


# --- SendGrid ---------------------------------------------------------------------------------


def test_sendgrid_sdk_and_our_mailer_post_the_same_mail_send_request(server):
    mail = OutgoingEmail(
        to="fan@example.com",
        to_name="Fan <One>",
        sender="Ana Creator <news@example.com>",
        subject="New video",
        text="Hi %recipient.name%, watch it",
        html="<p>Hi %recipient.name%</p>",
        key="delivery-7",
        unsubscribe_url="https://odyssey.example/u/7",
    )
    mailer = SendgridMailer(server.url, "SG.test-key")
    try:
        mailer.send(mail)
    finally:
        mailer.close()
    ours = only_request(server)

    # The same message in the SDK's own objects, as SendGrid's docs build it.
    sdk_mail = Mail()
    sdk_mail.from_email = From("news@example.com", "Ana Creator")
    sdk_mail.subject = "New video"
    personalization = Personalization()
    personalization.add_to(To("fan@example.com", "Fan <One>"))
    for name, value in (
        ("%recipient.name%", "Fan <One>"),
        ("%recipient.unsubscribe_url%", "https://odyssey.example/u/7"),
        ("%recipient.name_html%", "Fan &lt;One&gt;"),
        ("%recipient.unsubscribe_url_html%", "https://odyssey.example/u/7"),
    ):
        personalization.add_substitution(Substitution(name, value))
    personalization.add_custom_arg(CustomArg("delivery_key", "delivery-7"))
    personalization.add_header(Header("List-Unsubscribe", "<https://odyssey.example/u/7>"))
    personalization.add_header(Header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    sdk_mail.add_personalization(personalization)
    sdk_mail.add_content(Content("text/plain", "Hi %recipient.name%, watch it"))
    sdk_mail.add_content(Content("text/html", "<p>Hi %recipient.name_html%</p>"))
    SendGridAPIClient("SG.test-key", host=server.url).send(sdk_mail)
    sdk = only_request(server)

    assert_same_request(sdk, ours)
    assert ours.headers["authorization"] == "Bearer SG.test-key"
    assert ours.fields() == sdk.fields()  # JSON objects: key order is not part of the message


# --- Mailgun ----------------------------------------------------------------------------------


def mailgun_fields(request: RecordedRequest) -> dict[str, Any]:
    """The form with the two encodings Mailgun documents as equivalent made one."""
    fields: dict[str, Any] = dict(request.fields())
    # ``to``: Mailgun takes several ``to`` parameters or one comma-separated list alike.
    fields["to"] = sorted(a.strip() for value in fields["to"] for a in value.split(","))
    # ``recipient-variables`` is a JSON object: whitespace and key order carry nothing.
    fields["recipient-variables"] = [json.loads(v) for v in fields["recipient-variables"]]
    return fields


def test_mailgun_sdk_and_our_mailer_post_the_same_batch_message(server):
    recipients = [
        Recipient("fan1@example.com", "d-1", "Fan One", "https://odyssey.example/u/1"),
        Recipient("fan2@example.com", "d-2", "Fan & Two", "https://odyssey.example/u/2"),
    ]
    batch = EmailBatch(
        "Ana <news@mg.example.com>", "Hello", "Hi %recipient.name%", "<b>%recipient.name%</b>", recipients
    )
    mailer = MailgunMailer(server.url, "mg.example.com", "key-test")
    try:
        mailer.send_batch(batch)
    finally:
        mailer.close()
    ours = only_request(server)

    variables = {
        "fan1@example.com": {
            "name": "Fan One",
            "unsubscribe_url": "https://odyssey.example/u/1",
            "name_html": "Fan One",
            "unsubscribe_url_html": "https://odyssey.example/u/1",
            "key": "d-1",
        },
        "fan2@example.com": {
            "name": "Fan & Two",
            "unsubscribe_url": "https://odyssey.example/u/2",
            "name_html": "Fan &amp; Two",
            "unsubscribe_url_html": "https://odyssey.example/u/2",
            "key": "d-2",
        },
    }
    builder = (
        MailgunMessageBuilder("Ana <news@mg.example.com>")
        .add_recipient("fan1@example.com")
        .add_recipient("fan2@example.com")
        .set_subject("Hello")
        .set_text("Hi %recipient.name%")
        .set_html("<b>%recipient.name_html%</b>")
        .set_recipient_variables(variables)
        .add_custom_variable("delivery-key", "%recipient.key%")
        .add_custom_header("List-Unsubscribe", "<%recipient.unsubscribe_url%>")
        .add_custom_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        # Off: the builder would add an ``h:X-Idempotency-Key`` header to the mail itself.
        # Mailgun's API documents no idempotency key, so it deduplicates nothing; our
        # idempotency is the delivery key (``v:delivery-key``) and its unique row.
        .set_idempotency_safe(safe=False)
    )
    data, files = builder.build()
    with MailgunClient(auth=("api", "key-test"), api_url=server.url) as client:
        client.messages.create(data=data, files=files, domain="mg.example.com")
    sdk = only_request(server)

    assert_same_request(sdk, ours)
    assert ours.headers["authorization"] == "Basic " + base64.b64encode(b"api:key-test").decode()
    assert mailgun_fields(ours) == mailgun_fields(sdk)


# --- Twilio -----------------------------------------------------------------------------------


def send_sms_both_ways(server: RecordingServer, ca_file: Path | None) -> tuple[RecordedRequest, RecordedRequest]:
    sms = TwilioSms(server.url, "AC0123456789abcdef", "auth-token", "+14155550100", ca_file=ca_file)
    try:
        sms.send("+14155550123", "Your stream starts in 5 minutes", key="sms-1")
    finally:
        sms.close()
    ours = only_request(server)

    client = TwilioClient("AC0123456789abcdef", "auth-token")
    client.api.base_url = server.url  # the SDK's own domain object, pointed at the loopback
    if ca_file is not None:
        session = client.http_client.session
        session.trust_env = False  # else requests lets REQUESTS_CA_BUNDLE override ``verify``
        session.verify = str(ca_file)
    client.messages.create(to="+14155550123", from_="+14155550100", body="Your stream starts in 5 minutes")
    return only_request(server), ours


def test_twilio_sdk_and_our_sms_post_the_same_message(server):
    sdk, ours = send_sms_both_ways(server, ca_file=None)
    assert_same_request(sdk, ours)
    assert ours.fields() == sdk.fields()


def test_twilio_sdk_and_our_sms_post_the_same_message_over_tls(tmp_path):
    # Every SDK here takes plain http on loopback; this case shows the comparison holds over
    # TLS too, with a throwaway self-signed certificate both clients are told to trust.
    cert, key = make_cert(tmp_path)
    with RecordingServer(provider_answer, tls=server_tls(cert, key)) as tls_server:
        assert tls_server.url.startswith("https://")
        sdk, ours = send_sms_both_ways(tls_server, ca_file=cert)
    assert_same_request(sdk, ours)
    assert ours.fields() == sdk.fields()


# --- FCM (firebase-admin) ---------------------------------------------------------------------


def jwt_parts(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def decode(part: str) -> dict[str, Any]:
        return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))

    header, claims, _signature = assertion.split(".")
    return decode(header), decode(claims)


@pytest.fixture
def service_account(server: RecordingServer, tmp_path: Path) -> dict[str, str]:
    """A generated service-account key whose ``token_uri`` is the loopback server."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "odyssey-test",
        "private_key_id": "test-key-1",
        "private_key": pem,
        "client_email": "push@odyssey-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{server.url}/token",
    }
    (tmp_path / "service-account.json").write_text(json.dumps(info))
    return info


@pytest.fixture
def firebase_app(service_account: dict[str, str], server: RecordingServer) -> Iterator[firebase_admin.App]:
    app = firebase_admin.initialize_app(credentials.Certificate(service_account), name="differential")
    # The SDK has no setting for the FCM endpoint: its messaging service keeps the URL in
    # ``_fcm_url``, built from the project id; point that one attribute at the loopback.
    messaging._get_messaging_service(app)._fcm_url = f"{server.url}/v1/projects/odyssey-test/messages:send"
    yield app
    firebase_admin.delete_app(app)


@pytest.mark.parametrize("urgent", [True, False])
def test_firebase_admin_and_our_fcm_sender_exchange_the_key_and_send_the_same_message(
    server, service_account, firebase_app, tmp_path, urgent
):
    message = PushMessage(
        title="Ana is live",
        body="Join now",
        key="push-9",
        url="https://odyssey.example/live/1",
        data={"kind": "live"},
        urgent=urgent,
    )
    client = provider_client(10.0)
    try:
        token = ServiceAccountToken(tmp_path / "service-account.json", client)
        FcmSender(server.url, "odyssey-test", token, client).send("device-token-1", message)
    finally:
        client.close()
    our_grant, our_send = server.take()

    with warnings.catch_warnings():
        # firebase-admin 7.7 deprecates ``Message.token`` for ``fid`` (an installation id). Our
        # devices register FCM registration tokens, which the v1 API takes in ``token``.
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk_message = messaging.Message(
            token="device-token-1",
            notification=messaging.Notification(title="Ana is live", body="Join now"),
            data={"kind": "live", "url": "https://odyssey.example/live/1", "key": "push-9"},
            android=messaging.AndroidConfig(priority="high" if urgent else "normal"),
        )
    messaging.send(sdk_message, app=firebase_app)
    sdk_grant, sdk_send = server.take()

    # The OAuth exchange: the same JWT-bearer grant, signed by the same key for the same account.
    assert_same_request(sdk_grant, our_grant)
    sdk_form, our_form = sdk_grant.fields(), our_grant.fields()
    assert our_form["grant_type"] == sdk_form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    sdk_header, sdk_claims = jwt_parts(sdk_form["assertion"][0])
    our_header, our_claims = jwt_parts(our_form["assertion"][0])
    # google-auth adds ``kid``; Google's server-to-server OAuth flow names only alg and typ.
    assert {k: sdk_header[k] for k in ("alg", "typ")} == our_header == {"alg": "RS256", "typ": "JWT"}
    assert our_claims["iss"] == sdk_claims["iss"] == service_account["client_email"]
    assert our_claims["exp"] - our_claims["iat"] == sdk_claims["exp"] - sdk_claims["iat"] == 3600
    # Harmless differences, each from Google's docs: ``aud`` is "always" Google's token
    # endpoint, which google-auth hard-codes and we read from the key's ``token_uri`` (the same
    # URL in every real key; the loopback here). firebase-admin asks for all its products'
    # scopes; we ask only for FCM's own, the one the FCM v1 docs name.
    assert our_claims["aud"] == service_account["token_uri"]
    assert sdk_claims["aud"] == "https://oauth2.googleapis.com/token"
    assert our_claims["scope"] == SCOPE
    assert "https://www.googleapis.com/auth/cloud-platform" in sdk_claims["scope"].split()

    # The send. ``X-GOOG-API-FORMAT-VERSION: 2``, which firebase-admin adds, is not part of the
    # FCM v1 REST reference; our error reading follows the documented v1 error body.
    assert_same_request(sdk_send, our_send)
    assert our_send.headers["authorization"] == "Bearer ya29.loopback"
    assert our_send.fields() == sdk_send.fields()
