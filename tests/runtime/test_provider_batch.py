"""providers.batch: one outcome per recipient, in order, whatever fails along the way."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from odyssey_workers.providers.batch import in_order, keep_valid, send_each, sent_or_raise
from odyssey_workers.providers.outcomes import InvalidAddress, ProviderUnavailable, RecipientGone, Sent


@dataclass(frozen=True)
class Item:
    to: str
    key: str


def test_send_each_turns_a_failure_into_that_items_outcome_and_goes_on() -> None:
    def send(token: str) -> Sent:
        if token == "gone":
            raise RecipientGone("device token is gone", 410)
        return Sent(message_id=f"id-{token}")

    outcomes = send_each(send, ["a", "gone", "b"])
    assert outcomes[0] == Sent(message_id="id-a") and outcomes[2] == Sent(message_id="id-b")
    assert isinstance(outcomes[1], RecipientGone) and str(outcomes[1]) == "device token is gone"


def test_send_each_of_nothing_sends_nothing() -> None:
    assert send_each(lambda item: pytest.fail("sent"), []) == []


def test_keep_valid_splits_the_accepted_from_the_refused_by_key() -> None:
    def check(item: Item) -> None:
        if "@" not in item.to:
            raise InvalidAddress(f"invalid email address {item.to!r}")

    items = [Item("a@example.com", "k1"), Item("nope", "k2"), Item("b@example.com", "k3")]
    valid, refused = keep_valid(items, check)
    assert valid == [items[0], items[2]]
    assert list(refused) == ["k2"] and "'nope'" in str(refused["k2"])


def test_in_order_follows_the_items_and_fills_what_is_missing() -> None:
    items = [Item("a", "k1"), Item("b", "k2"), Item("c", "k3")]
    lost = ProviderUnavailable("connection lost before this message was sent")
    outcomes = {"k3": Sent("3"), "k1": Sent("1")}
    assert in_order(items, outcomes, lost) == [Sent("1"), lost, Sent("3")]
    with pytest.raises(KeyError):
        in_order(items, outcomes)


def test_sent_or_raise_returns_the_sent_and_raises_the_failure() -> None:
    assert sent_or_raise(Sent("x", 202)) == Sent("x", 202)
    with pytest.raises(RecipientGone, match="gone"):
        sent_or_raise(RecipientGone("gone", 404))
