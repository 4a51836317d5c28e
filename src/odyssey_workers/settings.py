"""Typed settings, read from the environment and ``.env``: the runtime's and each domain's.

``Settings`` holds what the runtime itself reads. Each domain declares its own model in
``jobs/<domain>/settings.py`` (``SETTINGS = PaymentsSettings``, a ``DomainSettings``), read
from the same environment under the same variable names; ``load_settings`` reads them all at
once, so a bad value in any domain stops start-up, and a domain reads its part with
``domain_settings(PaymentsSettings)``.

Every field maps to an upper-case environment variable of the same name. A missing or malformed
value stops start-up with one line naming the variable and what it expects; values never appear
in the message, because several of them are secrets.
"""

from __future__ import annotations

import functools
import json
import re
import typing
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from odyssey_workers import defaults
from odyssey_workers.domains import import_part
from odyssey_workers.errors import ConfigurationError

Port = Annotated[int, Field(ge=1, le=65535)]
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


SETTINGS_CONFIG = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)


class DomainSettings(BaseSettings):
    """Base of a domain's settings model: the same environment, ``.env`` and variable names."""

    model_config = SETTINGS_CONFIG


class Settings(BaseSettings):
    """The runtime's configuration. Secrets are ``SecretStr`` so they print as ``**********``."""

    model_config = SETTINGS_CONFIG
    _domains: dict[type[BaseModel], BaseModel] = PrivateAttr(default_factory=dict)

    # --- core ----------------------------------------------------------------------------
    var_dir: Path = Path("var")  # embedded defaults live here: SQLite, storage, bundled Redis
    redis_url: str | None = None  # redis://, rediss://, unix:// or redis+sentinel://; unset: bundled
    database_url: str | None = None  # postgresql://... ; unset: SQLite at VAR_DIR/odyssey.db
    database_busy_timeout_ms: Annotated[int, Field(ge=0)] = 15_000  # SQLite: wait this long for a writer
    storage_url: str | None = None  # s3://bucket/prefix or file:///path; unset: VAR_DIR/storage
    worker_processes: Annotated[int, Field(ge=1, le=64)] = defaults.WORKER_PROCESSES  # per worker command
    job_timeout_cap_seconds: Annotated[int, Field(ge=10)] = 6 * 3600  # no job timeout exceeds this
    maintenance_interval_seconds: Annotated[int, Field(ge=1)] = defaults.MAINTENANCE_INTERVAL_SECONDS  # abandoned jobs
    log_level: str = "INFO"  # DEBUG, INFO, WARNING, ERROR, CRITICAL (the command's --log-level overrides it)
    job_routes: dict[str, str] = {}  # JSON: catalog name or glob -> queue, as {"content.transcode_video": "video"}

    # --- scheduler -----------------------------------------------------------------------------
    schedules_file: Path = Path("schedules.yaml")
    scheduler_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 5  # how often due entries are checked
    schedule_runs_retention_days: Annotated[int, Field(ge=1)] = 400  # fired periods kept (covers a year)

    # --- dashboard and metrics -------------------------------------------------------------
    dashboard_host: str = "127.0.0.1"  # off loopback only with DASHBOARD_USERNAME and _PASSWORD
    dashboard_port: Port = defaults.DASHBOARD_PORT
    dashboard_username: str | None = None  # basic auth for rq-dashboard
    dashboard_password: SecretStr | None = None
    dashboard_allowed_hosts: str = ""  # comma-separated Host names beside loopback and DASHBOARD_HOST (a proxy's)
    metrics_host: str = "127.0.0.1"  # Prometheus /metrics and /health
    metrics_port: Port = defaults.METRICS_PORT

    # --- event stream (track, track_many) ---------------------------------------------------------
    event_stream_maxlen: Annotated[int, Field(ge=1000)] = defaults.EVENT_STREAM_MAXLEN  # entries kept, approximately

    # --- storage providers -------------------------------------------------------------------
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    aws_region: str = "us-east-1"  # S3 storage (and AWS providers)
    s3_endpoint_url: str | None = None  # any S3-compatible store

    @field_validator("redis_url")
    @classmethod
    def _redis_url_has_redis_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in REDIS_SCHEMES:
            raise ValueError("expected a redis://, rediss://, unix:// or redis+sentinel:// URL")
        if parts.scheme == "redis+sentinel":
            from odyssey_workers.sentinel import parse_sentinel_url

            parse_sentinel_url(value)  # raises ValueError naming what is wrong
            return value
        if parts.scheme != "unix" and not parts.hostname:
            raise ValueError("expected a host, as in redis://host:6379/0")
        try:
            parts.port  # noqa: B018 - urlsplit validates the port lazily
        except ValueError as exc:
            raise ValueError("expected a numeric port") from exc
        database = parts.path.strip("/")
        if parts.scheme != "unix" and database and not database.isdigit():
            # redis-py would silently use database 0 for redis://host/abc.
            raise ValueError("expected a database number after the host, as redis://host:6379/0")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
        return value.strip().upper()

    @field_validator("database_url", "storage_url")
    @classmethod
    def _empty_means_unset(cls, value: str | None) -> str | None:
        return value or None

    # --- derived values ----------------------------------------------------------------------
    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'odyssey.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        if self.storage_url:
            return self.storage_url
        return (self.var_dir / "storage").resolve().as_uri()


def describe_validation_error(error: ValidationError) -> str:
    """One line per bad variable, naming it and what it expects, never echoing its value."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        field, *inside = item["loc"] or ("settings",)
        # A list's item or a mapping's key is named after the variable: "CONTENT_IMAGE_FORMATS: item 2".
        where = "".join(f": item {part + 1}" if isinstance(part, int) else f": {part}" for part in inside)
        reason = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{str(field).upper()}{where}: {reason}")
    return "; ".join(lines)


def describe_settings_error(error: SettingsError, model: type[BaseSettings]) -> str:
    """pydantic-settings' "error parsing value for field ..." (a list or dict variable that is not
    JSON) as ``VARIABLE: expected ...``."""
    match = re.search(r'field "(\w+)"', str(error))
    if match is None or match.group(1) not in model.model_fields:
        return "settings: a list or mapping variable is not valid JSON"
    name = match.group(1)
    default = model.model_fields[name].default
    shape = "a JSON object" if typing.get_origin(model.model_fields[name].annotation) is dict else "a JSON list"
    example = json_example(default)
    return f"{name.upper()}: expected {shape}, as {example}"


def json_example(default: object) -> str:
    return json.dumps(default, separators=(",", ":")) if default else ("{}" if isinstance(default, dict) else "[]")


SettingsModel = typing.TypeVar("SettingsModel", bound=BaseSettings)


def read_model(model: type[SettingsModel]) -> SettingsModel:
    """One settings model read now, a validation failure as one readable ConfigurationError."""
    try:
        return model()
    except ValidationError as exc:
        raise ConfigurationError(f"invalid configuration: {describe_validation_error(exc)}") from None
    except SettingsError as exc:
        raise ConfigurationError(f"invalid configuration: {describe_settings_error(exc, model)}") from None


def domain_models() -> list[type[DomainSettings]]:
    """Every domain's settings model (``SETTINGS`` in its ``settings`` module), in discovery order."""
    return [module.SETTINGS for module in import_part("settings") if hasattr(module, "SETTINGS")]


def load_settings() -> Settings:
    """Read the runtime's settings and every domain's now, so any bad value stops start-up here."""
    settings = read_model(Settings)
    for model in domain_models():
        settings._domains[model] = read_model(model)
    return settings


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read once. Tests call ``get_settings.cache_clear()`` after changes."""
    return load_settings()


DomainModel = typing.TypeVar("DomainModel", bound=DomainSettings)


def domain_settings(model: type[DomainModel], settings: Settings | None = None) -> DomainModel:
    """A domain's settings, read with the process-wide ones (or with ``settings``, if given)."""
    settings = settings or get_settings()
    found = settings._domains.get(model)
    if found is None:  # a Settings made by hand (tests), or a model no domain declares
        found = settings._domains[model] = read_model(model)
    assert isinstance(found, model)
    return found
