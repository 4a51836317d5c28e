"""Money, currencies, the tax table and the split: exact integers, written-down rounding, no floats."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.payments import distribution, tax
from jobs.payments.currencies import UnknownCurrencyError, exponent
from jobs.payments.money import AmountError, Money, round_half_up
from jobs.payments.periods import add_months, parse_week

PAYMENTS_CODE = Path(__file__).resolve().parents[2] / "jobs" / "payments"


def test_minor_unit_exponents_come_from_the_iso_table():
    assert (exponent("JPY"), exponent("USD"), exponent("BHD")) == (0, 2, 3)
    assert Money.from_major("12.345", "BHD") == Money(12345, "BHD")
    assert Money.from_major("1200", "JPY") == Money(1200, "JPY")
    assert str(Money(1234, "USD")) == "12.34 USD"


def test_an_unknown_currency_is_refused_by_name():
    with pytest.raises(UnknownCurrencyError, match="unknown currency 'ABC'"):
        Money(100, "ABC")


def test_floats_and_extra_decimals_never_become_money():
    with pytest.raises(AmountError, match="integer number of minor units, got float"):
        Money(10.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(AmountError, match="more decimals than JPY allows"):
        Money.from_major("10.5", "JPY")
    with pytest.raises(AmountError):
        Money.from_major(10.5, "USD")  # type: ignore[arg-type]


def test_rounding_is_half_up_in_minor_units():
    assert [round_half_up(Decimal(v)) for v in ("2.5", "3.5", "2.4999", "-2.5")] == [3, 4, 2, -3]
    with pytest.raises(TypeError):
        round_half_up(2.5)  # type: ignore[arg-type]


def test_no_float_appears_anywhere_on_the_money_path():
    """Static guard: no float literal, float() call or true division of amounts in jobs/payments."""
    offenders = []
    for path in PAYMENTS_CODE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                offenders.append(f"{path.name}:{node.lineno} float literal {node.value}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("float", "round"):
                offenders.append(f"{path.name}:{node.lineno} {node.func.id}()")
    assert offenders == []


def test_eu_vat_is_by_the_buyers_country():
    (line,) = tax.lookup("de")
    assert (line.jurisdiction, line.name, line.rate) == ("DE", "VAT", Decimal("0.19"))


def test_canadian_provinces_get_gst_hst_or_gst_plus_provincial_tax():
    assert [(r.jurisdiction, r.name) for r in tax.lookup("CA", "ON")] == [("CA-ON", "HST")]
    assert [(r.jurisdiction, r.name) for r in tax.lookup("CA", "QC")] == [("CA", "GST"), ("CA-QC", "QST")]
    assert [(r.jurisdiction, r.name) for r in tax.lookup("CA", "AB")] == [("CA", "GST")]


def test_a_us_state_without_sales_tax_is_known_and_charges_none():
    assert tax.lookup("US", "OR") == ()
    assert tax.lookup("US", "CA")[0].rate == Decimal("0.0725")


@pytest.mark.parametrize(
    ("country", "region", "message"),
    [
        ("ZZ", None, "no tax rates for billing country 'ZZ'"),
        ("CA", None, "a CA billing address needs one of"),
        ("US", "XX", "no tax rates for region 'XX' of US"),
    ],
)
def test_a_tax_lookup_for_an_unknown_region_is_a_clear_error(country, region, message):
    with pytest.raises(tax.UnknownTaxRegionError, match=message):
        tax.lookup(country, region)


def test_exclusive_and_inclusive_tax_round_half_up_per_line():
    quebec = tax.lookup("CA", "QC")
    exclusive = tax.compute(1000, quebec, inclusive=False)
    assert [line.amount for line in exclusive.lines] == [50, 100]  # 99.75 -> 100
    assert exclusive.gross == 1150
    inclusive = tax.compute(1150, quebec, inclusive=True)
    assert inclusive.net == 1000 and [line.amount for line in inclusive.lines] == [50, 100]


def test_the_split_of_a_charge_is_written_down_and_leaves_no_cent():
    split = distribution.split_charge(999, "EUR", tax.lookup("FR"), inclusive=True, commission_rate=Decimal("0.15"))
    assert (split.gross, split.net, split.tax) == (999, 833, 166)  # 999 / 1.2 = 832.5 -> 833
    assert (split.commission, split.creator) == (125, 708)  # 833 x 0.15 = 124.95 -> 125
    assert split.tax + split.commission + split.creator == split.gross


places = st.sampled_from([("FR", None), ("CA", "QC"), ("CA", "BC"), ("US", "NY"), ("US", "OR"), ("HU", None)])


@given(
    price=st.integers(min_value=1, max_value=10**9),
    place=places,
    inclusive=st.booleans(),
    rate=st.decimals(min_value=0, max_value=1, places=4),
)
def test_every_split_sums_exactly_to_the_gross_with_no_negative_part(price, place, inclusive, rate):
    split = distribution.split_charge(price, "USD", tax.lookup(*place), inclusive=inclusive, commission_rate=rate)
    assert split.tax + split.commission + split.creator == split.gross
    assert all(part >= 0 for part in (split.commission, split.creator, *(line.amount for line in split.tax_lines)))
    assert all(isinstance(part, int) for part in (split.gross, split.net, split.commission, split.creator))


@given(
    parts=st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=5),
    fraction=st.fractions(min_value=0, max_value=1),
)
def test_apportioning_a_refund_sums_exactly_and_never_exceeds_a_part(parts, fraction):
    amount = int(sum(parts) * fraction)
    shares = distribution.apportion(amount, parts)
    assert sum(shares) == amount
    assert all(0 <= share <= part for share, part in zip(shares, parts, strict=True))


def test_billing_months_keep_the_anchor_day_and_weeks_parse_strictly():
    from datetime import UTC, datetime

    anchor = datetime(2026, 1, 31, tzinfo=UTC)
    assert add_months(anchor, 1).day == 28 and add_months(anchor, 2).day == 31
    assert str(parse_week("2026-W48")) == "2026-11-23"
    with pytest.raises(Exception, match="not an ISO week"):
        parse_week("2026-48")
