"""The README keeps up with the code: every setting is in its table, every command in its docs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from odyssey_workers.cli import main
from odyssey_workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_readme_settings_table_is_generated_from_the_current_settings() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "settings_reference.py"), "--check"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_readme_names_every_setting_and_every_command() -> None:
    readme = (ROOT / "README.md").read_text()
    missing_settings = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in readme]
    assert missing_settings == []
    missing_commands = [name for name in main.commands if f"`{name}" not in readme]
    assert missing_commands == []


def test_readme_quick_start_is_make_demo_and_make_test() -> None:
    quick_start = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make demo" in quick_start
    assert "make test" in quick_start
