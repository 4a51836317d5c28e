"""Clients of outside services, one module (or package) per service.

Providers know nothing of jobs or the database: plain values in, plain results out, so each can
be tested against its loopback server alone.
"""
