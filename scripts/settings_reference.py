"""Print (or check) the README's table of every setting: variable, default, secret, note.

The table is made from the ``Settings`` model and the section comments and trailing comments
of ``settings.py``, so it cannot drift: ``--check`` (run by the test suite) fails when the
README's copy differs from what this prints. ``--write`` updates the README in place.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

from pydantic import SecretStr

from odyssey_workers.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_SOURCE = ROOT / "src" / "odyssey_workers" / "settings.py"
README = ROOT / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"
SECTION = re.compile(r"^\s*# --- (.+?) -+\s*$")


def _is_secret(annotation: object) -> bool:
    return "SecretStr" in repr(annotation) or annotation is SecretStr


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "(empty)"
    if str(value) == "":
        return "(empty)"
    return str(value)


def _fields_by_section() -> list[tuple[str, list[tuple[str, str]]]]:
    """(section, [(field, trailing comment)]) in source order."""
    lines = SETTINGS_SOURCE.read_text().splitlines()
    tree = ast.parse(SETTINGS_SOURCE.read_text())
    settings_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    sections: list[tuple[str, list[tuple[str, str]]]] = []
    for node in settings_class.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        name = node.target.id
        if name not in Settings.model_fields:
            continue
        section = "core"
        for line in reversed(lines[: node.lineno - 1]):
            match = SECTION.match(line)
            if match:
                section = match.group(1).strip()
                break
        source_line = lines[(node.end_lineno or node.lineno) - 1]
        comment = source_line.split("  # ", 1)[1].strip() if "  # " in source_line else ""
        if not sections or sections[-1][0] != section:
            sections.append((section, []))
        sections[-1][1].append((name, comment))
    return sections


def render() -> str:
    out = [BEGIN, ""]
    for section, fields in _fields_by_section():
        title = f"**{section[0].upper()}{section[1:]}**"
        out += [title, "", "| variable | default | secret | note |", "|---|---|---|---|"]
        for name, comment in fields:
            secret = "yes" if _is_secret(Settings.model_fields[name].annotation) else ""
            default = _default(name).replace("|", "\\|")
            out.append(f"| `{name.upper()}` | `{default}` | {secret} | {comment.replace('|', '/')} |")
        out.append("")
    out.append(END)
    return "\n".join(out)


def current_block(text: str) -> str:
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    table = render()
    if args.check or args.write:
        text = README.read_text()
        if args.write:
            README.write_text(text.replace(current_block(text), table))
            return 0
        if current_block(text) != table:
            print("README's settings table is out of date: run python scripts/settings_reference.py --write")
            return 1
        return 0
    sys.stdout.write(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
