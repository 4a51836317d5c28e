"""Differential test of the Stripe provider against the ``stripe`` SDK's documented calls.

Our provider already speaks through the official ``stripe`` package (a ``StripeClient``); the
hand-written part is which parameters and options it passes. So each case makes the call as
Stripe's API reference writes it (``stripe.PaymentIntent.create(...)`` and friends, with the
module-level configuration) and the same operation through ``StripeProvider``, both against
one recording loopback server, and compares method, path, the headers that matter
(``Authorization``, ``Idempotency-Key``, ``Stripe-Version``, the body's media type) and the
form fields. ``User-Agent`` and the SDK's telemetry headers (``X-Stripe-Client-User-Agent``,
``X-Stripe-Client-Telemetry``) describe the client, not the request, and are not compared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import stripe

from odyssey_workers.providers.payments.stripe_api import StripeProvider
from tests.support.recording_http import Answer, RecordedRequest, RecordingServer

API_KEY = "sk_test_differential"


def answer(request: RecordedRequest) -> Answer:
    """The smallest objects the SDK and the provider accept as a success."""
    resource = request.path.removeprefix("/v1/")
    objects = {
        "payment_intents": {"id": "pi_0001", "object": "payment_intent", "status": "succeeded"},
        "transfers": {"id": "tr_0001", "object": "transfer"},
        "refunds": {"id": "re_0001", "object": "refund", "status": "succeeded"},
    }
    if resource not in objects:
        return Answer(404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized {request.path}"}})
    return Answer(200, objects[resource], {"request-id": "req_0001"})


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer(answer) as recording:
        yield recording


@pytest.fixture
def documented_call(server: RecordingServer, monkeypatch: pytest.MonkeyPatch) -> Callable[..., RecordedRequest]:
    """``documented_call(stripe.PaymentIntent.create, **params)`` → the request it made."""
    monkeypatch.setattr(stripe, "api_base", server.url)
    monkeypatch.setattr(stripe, "api_key", API_KEY)
    monkeypatch.setattr(stripe, "max_network_retries", 0)

    def call(create: Callable[..., Any], **params: Any) -> RecordedRequest:
        create(**params)
        return only_request(server)

    return call


def only_request(server: RecordingServer) -> RecordedRequest:
    taken = server.take()
    assert len(taken) == 1, [f"{r.method} {r.path}" for r in taken]
    return taken[0]


def what_matters(request: RecordedRequest) -> dict[str, Any]:
    headers = {name: request.headers.get(name) for name in ("authorization", "idempotency-key", "stripe-version")}
    return {
        "request": (request.method, request.path, request.query, request.content_type),
        "headers": headers,
        "fields": request.fields(),
    }


@pytest.fixture
def provider(server: RecordingServer) -> StripeProvider:
    return StripeProvider(API_KEY, server.url)


def test_an_off_session_charge_is_the_documented_payment_intent_create(server, provider, documented_call):
    provider.charge(amount=1299, currency="EUR", token="pm_card_visa", idempotency_key="sub-1", description="sub 1")
    ours = only_request(server)
    sdk = documented_call(
        stripe.PaymentIntent.create,
        amount=1299,
        currency="eur",
        payment_method="pm_card_visa",
        confirm=True,
        off_session=True,
        description="sub 1",
        idempotency_key="sub-1",
    )
    assert what_matters(ours) == what_matters(sdk)
    assert ours.headers["authorization"] == f"Bearer {API_KEY}"


def test_a_charge_without_description_sends_no_empty_description(server, provider, documented_call):
    # Stripe refuses an empty string for a parameter that cannot be unset ("You passed an empty
    # string for 'description'", parameter_invalid_empty): a charge with no description must
    # leave the parameter out, as the documented call does.
    provider.charge(amount=500, currency="USD", token="pm_card_visa", idempotency_key="sub-2")
    ours = only_request(server)
    sdk = documented_call(
        stripe.PaymentIntent.create,
        amount=500,
        currency="usd",
        payment_method="pm_card_visa",
        confirm=True,
        off_session=True,
        idempotency_key="sub-2",
    )
    assert what_matters(ours) == what_matters(sdk)
    assert "description" not in ours.fields()


def test_a_payout_is_the_documented_transfer_create(server, provider, documented_call):
    provider.transfer(amount=8000, currency="EUR", destination="acct_creator1", idempotency_key="payout-1")
    ours = only_request(server)
    sdk = documented_call(
        stripe.Transfer.create, amount=8000, currency="eur", destination="acct_creator1", idempotency_key="payout-1"
    )
    assert what_matters(ours) == what_matters(sdk)


def test_a_refund_is_the_documented_refund_create(server, provider, documented_call):
    provider.refund(charge_reference="pi_0001", amount=300, currency="EUR", idempotency_key="refund-1")
    ours = only_request(server)
    sdk = documented_call(stripe.Refund.create, payment_intent="pi_0001", amount=300, idempotency_key="refund-1")
    assert what_matters(ours) == what_matters(sdk)
