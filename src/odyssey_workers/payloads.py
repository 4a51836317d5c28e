"""Payload validation shared by ``enqueue()`` (before Redis) and the job class (before the call)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from odyssey_workers.catalog import JobSpec, Payload
from odyssey_workers.errors import PayloadError


def describe_payload_error(error: ValidationError) -> str:
    """``field: reason`` for each problem, without echoing values (they may be personal data)."""
    parts = []
    for item in error.errors(include_input=False, include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "payload"
        reason = {"missing": "is required", "extra_forbidden": "is not a field of this job"}.get(
            item["type"], str(item["msg"]).removeprefix("Value error, ")
        )
        parts.append(f"{field}: {reason}")
    return "; ".join(parts)


def validate_payload(spec: JobSpec, payload: Mapping[str, Any]) -> Payload:
    """The payload as the job's model, or a PayloadError naming each bad field and why."""
    try:
        return spec.payload.model_validate(dict(payload))
    except ValidationError as exc:
        raise PayloadError(f"{spec.name}: bad payload: {describe_payload_error(exc)}") from None


def payload_to_json(spec: JobSpec, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Validate, then the JSON form RQ stores (dates and decimals as strings)."""
    return validate_payload(spec, payload).model_dump(mode="json")
