"""ISO 4217 currencies the platform accepts, with their minor-unit exponent.

The exponent says how many minor units make a major one: 10**2 cents in a dollar, 10**0 in a
yen, 10**3 fils in a Bahraini dinar. An amount is always stored in minor units, so the exponent
matters only when reading or printing major amounts. A code not in this table is refused.
"""

from __future__ import annotations

from odyssey_workers.errors import PermanentError


class UnknownCurrencyError(PermanentError):
    """A currency code is not an ISO 4217 code this platform handles."""


EXPONENTS: dict[str, int] = {
    # zero-decimal currencies
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    # three-decimal currencies
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    # two-decimal currencies
    "AED": 2,
    "ARS": 2,
    "AUD": 2,
    "BGN": 2,
    "BRL": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "COP": 2,
    "CZK": 2,
    "DKK": 2,
    "EGP": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "MAD": 2,
    "MXN": 2,
    "MYR": 2,
    "NGN": 2,
    "NOK": 2,
    "NZD": 2,
    "PEN": 2,
    "PHP": 2,
    "PKR": 2,
    "PLN": 2,
    "QAR": 2,
    "RON": 2,
    "RSD": 2,
    "SAR": 2,
    "SEK": 2,
    "SGD": 2,
    "THB": 2,
    "TRY": 2,
    "TWD": 2,
    "UAH": 2,
    "USD": 2,
    "ZAR": 2,
}


def check_currency(code: object) -> str:
    """``code`` if it is a known ISO 4217 code (upper case), else UnknownCurrencyError naming it."""
    if not isinstance(code, str) or code not in EXPONENTS:
        raise UnknownCurrencyError(f"unknown currency {code!r}: expected an ISO 4217 code such as 'USD', 'EUR', 'JPY'")
    return code


def exponent(code: str) -> int:
    """Minor-unit exponent of ``code`` (JPY 0, USD 2, BHD 3)."""
    return EXPONENTS[check_currency(code)]
