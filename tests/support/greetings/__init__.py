"""A sample domain the runtime discovers (through ``ODYSSEY_EXTRA_DOMAINS``), as a new one would be.

It has what the domains issue asks of a new domain: one scheduled job, one table, one setting
and one command, and nothing of it lives outside this folder (its schedule is in the test's own
schedules file). ``tests/runtime/test_domains.py`` runs it through the real service.
"""
