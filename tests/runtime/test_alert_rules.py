"""The Prometheus alerting rules in ``deploy/prometheus``: valid for promtool, passing their own
unit tests, and written only over series the metrics endpoint really serves."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from odyssey_workers.monitoring import MetricsServer
from odyssey_workers.settings import get_settings

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = RULES_DIR / "odyssey-alerts.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian package 'prometheus')")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], cwd=RULES_DIR, capture_output=True, text=True, timeout=120)


@needs_promtool
def test_promtool_accepts_the_rules_file() -> None:
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_the_rules_pass_their_promtool_unit_tests() -> None:
    result = promtool("test", "rules", "odyssey-alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_promtool_would_catch_a_broken_rule(tmp_path: Path) -> None:
    """The check above can fail: a rule with a syntax error in its expression is refused."""
    broken = yaml.safe_load(RULES.read_text())
    broken["groups"][0]["rules"][0]["expr"] = "sum by (job_name (rate(odyssey_jobs_failed_total[15m]))"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    result = subprocess.run([str(PROMTOOL), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0


def test_every_series_the_rules_read_is_served_by_the_metrics_endpoint(env: dict[str, str]) -> None:
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    wanted = {name for rule in rules for name in re.findall(r"\bodyssey_[a-z_]+\b", rule["expr"])}
    assert wanted, "the rules read no odyssey series"
    server = MetricsServer(get_settings(), host="127.0.0.1", port=0).start()
    try:
        host, port = server.address
        text = urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10).read().decode()
    finally:
        server.stop()
    served = set(re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE))
    served |= {f"{name}_total" for name in served}  # a counter family's samples end in _total
    assert sorted(wanted - served) == []
