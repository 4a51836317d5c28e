"""Payments: the double-entry ledger, subscription billing, revenue sharing, tax, payouts, refunds, reports.

Money here is always ``Money`` (integer minor units + ISO 4217 code) or a bare ``int`` of minor
units beside a currency code; rates are ``Decimal``. No float is ever used on the money path.
"""
