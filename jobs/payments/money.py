"""Money as integer minor units with an ISO 4217 code, and the one rounding rule used to get there.

Rounding rule (everywhere an exact Decimal becomes minor units): half up, away from zero at
exactly .5, in minor units (``ROUND_HALF_UP``). Floats are refused outright: a float cannot hold
0.1 exactly, so one must never reach an amount or a rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from jobs.payments.currencies import check_currency, exponent
from odyssey_workers.errors import PermanentError


class AmountError(PermanentError):
    """An amount is not a positive whole number of minor units (or not a number at all)."""


def require_minor_units(amount: object, what: str = "amount", *, allow_zero: bool = False) -> int:
    """``amount`` as an int of minor units; floats, bools, zero (unless allowed) and negatives are refused."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise AmountError(f"{what} must be an integer number of minor units, got {type(amount).__name__} {amount!r}")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise AmountError(f"{what} must be {'zero or ' if allow_zero else ''}positive, got {amount}")
    return amount


def require_rate(rate: object, what: str = "rate") -> Decimal:
    """A rate between 0 and 1 inclusive, as a Decimal (a str is parsed exactly; a float is refused)."""
    if isinstance(rate, str):
        try:
            rate = Decimal(rate)
        except InvalidOperation:
            raise AmountError(f"{what} {rate!r} is not a decimal number") from None
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise AmountError(f"{what} must be a Decimal, got {type(rate).__name__}")
    if not Decimal(0) <= rate <= Decimal(1):
        raise AmountError(f"{what} must be between 0 and 1, got {rate}")
    return rate


def round_half_up(value: Decimal) -> int:
    """The nearest whole number of minor units, .5 going up (away from zero)."""
    if not isinstance(value, Decimal):
        raise TypeError(f"round_half_up takes a Decimal, got {type(value).__name__}")
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


@dataclass(frozen=True, order=True)
class Money:
    """An amount of one currency in minor units; arithmetic refuses to mix currencies."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise AmountError(f"amount must be an integer number of minor units, got {type(self.amount).__name__}")
        check_currency(self.currency)

    @classmethod
    def from_major(cls, value: str | Decimal, currency: str) -> Money:
        """Parse '12.34' USD -> 1234; more decimals than the currency has is an error, not a rounding."""
        if not isinstance(value, str | Decimal):
            raise AmountError(f"a major amount must be a string or Decimal, got {type(value).__name__}")
        try:
            exact = Decimal(value) * (Decimal(10) ** exponent(currency))
        except InvalidOperation:
            raise AmountError(f"{value!r} is not an amount") from None
        if exact != exact.to_integral_value():
            raise AmountError(f"{value} has more decimals than {currency} allows ({exponent(currency)})")
        return cls(int(exact), currency)

    def to_major(self) -> Decimal:
        return Decimal(self.amount).scaleb(-exponent(self.currency))

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise AmountError(f"cannot combine {self.currency} with {getattr(other, 'currency', other)!r}")

    def __str__(self) -> str:
        return f"{self.to_major():.{exponent(self.currency)}f} {self.currency}"


def format_minor(amount: int, currency: str) -> str:
    """'12.34 USD' for 1234 USD, '1234 JPY' for 1234 JPY."""
    return str(Money(amount, currency))
