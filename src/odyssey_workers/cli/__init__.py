"""The ``odyssey-workers`` command.

One module per command group; each registers itself on ``main`` when imported: the runtime's own
in ``COMMAND_MODULES``, then each domain's ``cli`` module (``jobs/<domain>/cli.py``). Errors
reach the user as one readable line (never a traceback); ``--debug`` shows the traceback.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import OperationalError

from odyssey_workers.connection import safe_url
from odyssey_workers.domains import import_part
from odyssey_workers.errors import ConfigurationError, OdysseyError

COMMAND_MODULES = [
    "odyssey_workers.cli.worker",
    "odyssey_workers.cli.run",
    "odyssey_workers.cli.enqueue",
    "odyssey_workers.cli.status",
    "odyssey_workers.cli.jobs",
    "odyssey_workers.cli.requeue",
    "odyssey_workers.cli.db",
    "odyssey_workers.cli.doctor",
    "odyssey_workers.cli.schedules",
]


class OneLineUsageError(click.ClickException):
    """A wrong command line, said in one line; exit code 2 as click's own usage errors."""

    exit_code = 2


class FriendlyGroup(click.Group):
    """A click group that turns expected failures into one line on stderr and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        if _load_error is not None:
            raise click.ClickException(str(_load_error))
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            # click prints usage, a hint and the error on three lines; one line says the same.
            command = exc.ctx.command_path if exc.ctx else ctx.command_path
            raise OneLineUsageError(f"{exc.format_message()} (see '{command} --help')") from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            raise click.ClickException(describe_error(exc)) from None


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, OdysseyError):
        return str(exc)
    if isinstance(exc, RedisConnectionError | RedisTimeoutError):
        from odyssey_workers.connection import redis_url

        return f"cannot reach Redis at {safe_url(redis_url())}: {exc}"
    if isinstance(exc, OperationalError):
        return f"database error: {str(exc.orig).strip().splitlines()[0] if exc.orig else exc}"
    return f"{type(exc).__name__}: {exc}"


@click.group(cls=FriendlyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], case_sensitive=False),
    default=None,
    help="Logging level (default: the LOG_LEVEL setting, INFO).",
)
@click.pass_context
def main(ctx: click.Context, debug: bool, log_level: str | None) -> None:
    """odyssey-workers: background processing for the Odyssey platform."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if log_level is None:
        from odyssey_workers.settings import get_settings

        log_level = get_settings().log_level  # validated there: a bad LOG_LEVEL stops here, in one line
    level = log_level.upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


# The runtime's commands, then each domain's (a domain's cli module imports no job code, so every
# command starts fast). A configuration error found while they load, such as a package named in
# ODYSSEY_EXTRA_DOMAINS that cannot be imported, is said in one line when the command runs.
_load_error: ConfigurationError | None = None
try:
    for _module in COMMAND_MODULES:
        importlib.import_module(_module)
    import_part("cli")
except ConfigurationError as exc:
    _load_error = exc
