"""Print (or check) the README's table of every setting: variable, default, secret, note.

The table is made from the runtime's ``Settings`` model and every domain's settings model
(``jobs/<domain>/settings.py``), with the section comments and trailing comments of their source
files, so it cannot drift: ``--check`` (run by the test suite) fails when the
README's copy differs from what this prints. ``--write`` updates the README in place.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
import typing
from pathlib import Path

from pydantic import BaseModel, SecretStr
from pydantic_settings import NoDecode

from odyssey_workers.settings import Settings, domain_models

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN, END = "<!-- settings:begin -->", "<!-- settings:end -->"
SECTION = re.compile(r"^\s*# --- (.+?) -+\s*$")


def _is_secret(annotation: object) -> bool:
    return "SecretStr" in repr(annotation) or annotation is SecretStr


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _default(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, list):
        # A comma-separated variable (NoDecode) is shown as written; a JSON list, spaced.
        separator = "," if any(item is NoDecode for item in field.metadata) else ", "
        return separator.join(_number(v) for v in value) or "(empty)"
    if isinstance(value, dict) and value:  # comma-separated name=value pairs, as the variable is written
        return ",".join(f"{k}={_number(v)}" for k, v in value.items())
    if str(value) == "":
        return "(empty)"
    return str(value)


def _choices(model: type[BaseModel], name: str) -> str:
    """``one of a, b`` for a Literal setting, so the table names every accepted value."""
    annotation = model.model_fields[name].annotation
    if typing.get_origin(annotation) is typing.Literal:
        return "one of " + ", ".join(str(arg) for arg in typing.get_args(annotation))
    return ""


Rows = list[tuple[str, list[tuple[type[BaseModel], str, str]]]]


def _fields_by_section(model: type[BaseModel]) -> Rows:
    """(section, [(model, field, trailing comment)]) in source order."""
    source = Path(inspect.getfile(model))
    lines = source.read_text().splitlines()
    tree = ast.parse(source.read_text())
    settings_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == model.__name__)
    sections: Rows = []
    for node in settings_class.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        name = node.target.id
        if name not in model.model_fields:
            continue
        section = "core"
        for line in reversed(lines[: node.lineno - 1]):
            match = SECTION.match(line)
            if match:
                section = match.group(1).strip()
                break
        source_line = lines[(node.end_lineno or node.lineno) - 1]
        comment = source_line.split("  # ", 1)[1].strip() if "  # " in source_line else ""
        comment = "; ".join(part for part in (_choices(model, name), comment) if part)
        if not sections or sections[-1][0] != section:
            sections.append((section, []))
        sections[-1][1].append((model, name, comment))
    return sections


def render() -> str:
    out = [BEGIN, ""]
    sections = [section for model in (Settings, *domain_models()) for section in _fields_by_section(model)]
    for section, fields in sections:
        title = f"**{section[0].upper()}{section[1:]}**"
        out += [title, "", "| variable | default | secret | note |", "|---|---|---|---|"]
        for model, name, comment in fields:
            secret = "yes" if _is_secret(model.model_fields[name].annotation) else ""
            default = _default(model, name).replace("|", "\\|")
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
