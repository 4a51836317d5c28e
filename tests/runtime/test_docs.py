"""The README keeps up with the code: every setting is in its table, every command in its docs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from odyssey_workers.cli import main
from odyssey_workers.settings import Settings, domain_models

ROOT = Path(__file__).resolve().parents[2]


def test_readme_settings_table_is_generated_from_the_current_settings() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_reference.py"), "--check"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_readme_names_every_setting_and_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    models = (Settings, *domain_models())
    missing_settings = [
        name.upper() for model in models for name in model.model_fields if f"`{name.upper()}`" not in readme
    ]
    assert missing_settings == []
    missing_commands = [name for name in main.commands if f"`{name}" not in readme]
    assert missing_commands == []


def test_readme_quick_start_is_make_demo_and_make_test() -> None:
    quick_start = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quick_start
    assert "make test" in quick_start


def _schedule_entries() -> list[dict[str, object]]:
    import yaml

    entries = yaml.safe_load((ROOT / "schedules.yaml").read_text())["schedules"]
    assert isinstance(entries, list)
    return entries


def test_scheduler_doc_counts_and_lists_the_entries_of_schedules_yaml() -> None:
    import re

    entries = _schedule_entries()
    enabled = {str(entry["name"]) for entry in entries if entry.get("enabled", True)}
    doc = (ROOT / "docs" / "scheduler.md").read_text()
    section = doc.split("## The entries", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    stated = re.search(r"has (\d+) entries, (\d+) of them enabled; the (\d+) disabled", section)
    assert stated, "docs/scheduler.md must say how many entries schedules.yaml has and how many are enabled"
    assert [int(n) for n in stated.groups()] == [len(entries), len(enabled), len(entries) - len(enabled)]
    rows = dict(re.findall(r"^\| `([^`]+)` \| .* \| ([^|]+) \|$", section, flags=re.MULTILINE))
    assert list(rows) == [entry["name"] for entry in entries], "one row per entry, in the file's order"
    assert {name for name, state in rows.items() if "enabled" in state and "disabled" not in state} == enabled


def test_readme_counts_the_entries_of_schedules_yaml() -> None:
    entries = _schedule_entries()
    enabled = [entry for entry in entries if entry.get("enabled", True)]
    section = (ROOT / "README.md").read_text().split("## Scheduler", 1)[1].split("\n## ", 1)[0]
    assert f"holds {len(entries)} entries, all UTC, {len(enabled)} of them enabled" in section
