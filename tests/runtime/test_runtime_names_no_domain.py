"""The runtime never names a domain: no import of ``jobs.<domain>``, no ``jobs.<domain>`` path and
no ``<domain>.<job>`` catalog name in any module under ``src/odyssey_workers`` (docstrings and
comments included in the path check). Domains are found by listing ``jobs/``; a runtime that
named one would need an edit for every new domain."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from odyssey_workers.domains import discover_domains, short_name

RUNTIME = Path(__file__).resolve().parents[2] / "src" / "odyssey_workers"


def domain_names() -> list[str]:
    return [short_name(domain) for domain in discover_domains() if domain.startswith("jobs.")]


def findings(source: str, domains: list[str]) -> list[str]:
    """Each place in ``source`` that names one of ``domains``, as ``line: what``."""
    alternatives = "|".join(map(re.escape, domains))
    path = re.compile(rf"\bjobs\.({alternatives})\b")
    catalog_name = re.compile(rf"^({alternatives})\.[a-z_][a-z0-9_]*$")
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {alias.name}" for alias in node.names if alias.name.startswith("jobs")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jobs"):
            found.append(f"{node.lineno}: from {node.module} import")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if path.search(node.value) or catalog_name.match(node.value):
                found.append(f"{node.lineno}: {node.value[:60]!r}")
    for number, line in enumerate(source.splitlines(), start=1):
        comment = line.partition("#")[2]
        if comment and path.search(comment):
            found.append(f"{number}: comment {comment.strip()[:60]!r}")
    return found


def test_the_check_finds_each_way_of_naming_a_domain() -> None:
    sample = (
        "import jobs.payments.ledger\n"
        "from jobs.content import images\n"
        "JOB = 'notifications.notify'\n"
        "PATH = 'jobs.content.images.optimize_image'\n"
        "# see jobs.payments.payouts\n"
        "OK = 'schedules.fire'  # the runtime's own job\n"
        "GENERIC = 'jobs.<domain>.<module>.<function>'\n"
    )
    assert [item.split(":")[0] for item in findings(sample, ["content", "notifications", "payments"])] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]


def test_no_runtime_module_names_a_domain() -> None:
    domains = domain_names()
    assert {"content", "notifications", "payments", "system"} <= set(domains)
    named = {
        str(path.relative_to(RUNTIME)): found
        for path in sorted(RUNTIME.rglob("*.py"))
        if (found := findings(path.read_text(), domains))
    }
    assert named == {}
