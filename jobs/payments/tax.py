"""Tax by the buyer's billing address, from the rates table in ``data/tax_rates.json``.

Rounding rule, per line, half up in minor units:

* exclusive prices: each tax line is ``round_half_up(net x rate)``; gross = net + the lines.
* inclusive prices: net = ``round_half_up(gross / (1 + sum of rates))``, total tax = gross - net;
  every line but the last is ``round_half_up(net x rate)`` and the last line takes the rest, so
  the lines always add up to exactly gross - net.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from jobs.payments.money import require_minor_units, round_half_up
from odyssey_workers.errors import PermanentError

RATES_FILE = Path(__file__).parent / "data" / "tax_rates.json"


class UnknownTaxRegionError(PermanentError):
    """The buyer's country or region is not in the tax rates table."""


@dataclass(frozen=True)
class TaxRate:
    jurisdiction: str  # ledger liability account and report key: "FR", "CA", "CA-QC", "US-CA"
    name: str  # VAT, GST, HST, PST, QST, sales tax
    rate: Decimal


@dataclass(frozen=True)
class TaxLine:
    jurisdiction: str
    name: str
    rate: Decimal
    amount: int

    def as_json(self) -> dict[str, Any]:
        return {"jurisdiction": self.jurisdiction, "name": self.name, "rate": str(self.rate), "amount": self.amount}


@dataclass(frozen=True)
class TaxResult:
    net: int  # the taxable amount
    lines: tuple[TaxLine, ...]
    gross: int  # what the buyer pays

    @property
    def tax(self) -> int:
        return sum(line.amount for line in self.lines)


@functools.cache
def rates_table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RATES_FILE.read_text(encoding="utf-8"))
    return data["countries"]  # type: ignore[no-any-return]


def _rates(lines: list[dict[str, str]]) -> tuple[TaxRate, ...]:
    return tuple(TaxRate(line["jurisdiction"], line["name"], Decimal(line["rate"])) for line in lines)


def lookup(country: str | None, region: str | None = None) -> tuple[TaxRate, ...]:
    """The tax lines for a buyer in ``country`` (ISO 3166-1 alpha-2) and ``region`` (province/state code)."""
    table = rates_table()
    code = (country or "").strip().upper()
    entry = table.get(code)
    if entry is None:
        raise UnknownTaxRegionError(
            f"no tax rates for billing country {country!r}: add it to {RATES_FILE.name} or correct the address"
        )
    if "lines" in entry:
        return _rates(entry["lines"])
    regions: dict[str, list[dict[str, str]]] = entry["regions"]
    region_code = (region or "").strip().upper()
    if region_code not in regions:
        raise UnknownTaxRegionError(
            f"no tax rates for region {region!r} of {code}: a {code} billing address needs one of "
            f"{', '.join(sorted(regions))}"
        )
    return _rates(regions[region_code])


def compute(price: int, rates: tuple[TaxRate, ...], *, inclusive: bool) -> TaxResult:
    """Tax on one line of ``price`` minor units (the gross when ``inclusive``, else the net)."""
    require_minor_units(price, "price")
    if not rates:
        return TaxResult(net=price, lines=(), gross=price)
    if not inclusive:
        lines = tuple(TaxLine(r.jurisdiction, r.name, r.rate, round_half_up(price * r.rate)) for r in rates)
        return TaxResult(net=price, lines=lines, gross=price + sum(line.amount for line in lines))
    total_rate = sum((r.rate for r in rates), Decimal(0))
    net = round_half_up(Decimal(price) / (1 + total_rate))
    total_tax = price - net
    amounts = [round_half_up(net * r.rate) for r in rates[:-1]]
    amounts.append(total_tax - sum(amounts))
    lines = tuple(TaxLine(r.jurisdiction, r.name, r.rate, a) for r, a in zip(rates, amounts, strict=True))
    return TaxResult(net=net, lines=lines, gross=price)
