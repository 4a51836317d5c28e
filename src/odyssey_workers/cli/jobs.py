"""``odyssey-workers jobs [NAME]``: the catalog, or one job's payload fields."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from odyssey_workers.catalog import JobSpec, get_catalog
from odyssey_workers.cli import main
from odyssey_workers.cli.jobinfo import to_json


def spec_row(spec: JobSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "queue": spec.routed_queue,
        "priority": spec.priority,
        "timeout_s": spec.timeout,
        "attempts": spec.retry.attempts,
        "concurrency": spec.concurrency,
        "description": spec.description,
    }


def field_rows(spec: JobSpec) -> list[dict[str, Any]]:
    """The payload model's fields: name, JSON type, required, default, constraints."""
    schema = spec.payload.model_json_schema()
    required = set(schema.get("required", []))
    rows = []
    for name, field in schema.get("properties", {}).items():
        kind = field.get("type") or " | ".join(str(option.get("type", "?")) for option in field.get("anyOf", []))
        limits = {
            key: value
            for key, value in field.items()
            if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "enum")
        }
        rows.append(
            {
                "field": name,
                "type": kind or "any",
                "required": name in required,
                "default": field.get("default", ""),
                "limits": ", ".join(f"{key} {value}" for key, value in limits.items()),
            }
        )
    return rows


def _table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in rows[0] if rows else ["(none)"]:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if value is None else str(value) for value in row.values()))
    return table


@main.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def jobs(name: str | None, as_json: bool) -> None:
    """List every catalog job, or show the payload fields of job NAME."""
    catalog = get_catalog()
    console = Console()
    if name is None:
        rows = [spec_row(spec) for spec in catalog]
        if as_json:
            click.echo(to_json(rows))
        else:
            console.print(_table(rows, f"{len(rows)} catalog jobs"))
        return
    spec = catalog.get(name)  # UnknownJobError names the closest jobs
    fields = field_rows(spec)
    if as_json:
        click.echo(to_json({**spec_row(spec), "function": spec.function, "fields": fields}))
        return
    console.print(f"[bold]{spec.name}[/bold] ({spec.function}) on {spec.routed_queue}: {spec.description}")
    console.print(_table(fields, "payload fields"))
