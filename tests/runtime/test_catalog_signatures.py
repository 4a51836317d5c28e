"""Every catalog job's function takes exactly its payload model's fields, with compatible types.

The job class calls ``function(**dict(validated_payload))``: every field, defaults filled in. So
a field the function does not take, a parameter no field fills, or a parameter whose type does
not accept the field's values is a job that fails on every run: caught here instead.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from datetime import datetime
from typing import Any, Literal

import pytest
from pydantic import AwareDatetime, Field
from rq.utils import import_attribute

from odyssey_workers.catalog import Catalog, Id, JobSpec, Payload, get_catalog

DATETIMES = {AwareDatetime: datetime}


def _strip(annotation: Any) -> Any:
    """The type a value must have: without Annotated metadata, Literal as its values' type."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _strip(typing.get_args(annotation)[0])
    if origin is Literal:
        kinds = {type(value) for value in typing.get_args(annotation)}
        return kinds.pop() if len(kinds) == 1 else typing.Union[tuple(kinds)]  # noqa: UP007
    return DATETIMES.get(annotation, annotation)


def _members(annotation: Any) -> tuple[Any, ...]:
    annotation = _strip(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(member for arg in typing.get_args(annotation) for member in _members(arg))
    return (annotation,)


def accepts(parameter: Any, field: Any) -> bool:
    """Whether a parameter annotated ``parameter`` takes every value of a field typed ``field``."""
    return all(any(_accepts_one(p, f) for p in _members(parameter)) for f in _members(field))


def _accepts_one(parameter: Any, field: Any) -> bool:
    if parameter is Any or field is Any:
        return True
    if field is type(None) or parameter is type(None):
        return field is parameter
    p_origin, f_origin = typing.get_origin(parameter) or parameter, typing.get_origin(field) or field
    if not (isinstance(p_origin, type) and isinstance(f_origin, type)):
        return parameter == field
    if p_origin is float and f_origin is int:
        return True  # the numeric tower: an int is a fine float
    if not issubclass(f_origin, p_origin):
        return False
    p_args, f_args = typing.get_args(parameter), typing.get_args(field)
    if not p_args or not f_args:
        return True
    if len(p_args) != len(f_args):
        return False
    return all(accepts(p, f) for p, f in zip(p_args, f_args, strict=True))


def signature_problems(spec: JobSpec) -> list[str]:
    """What is wrong between ``spec``'s function and its payload model; empty when they agree."""
    function = import_attribute(spec.function)
    parameters = inspect.signature(function).parameters
    hints = typing.get_type_hints(function, include_extras=True)
    fields = spec.payload.model_fields
    problems = []
    for name, parameter in parameters.items():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.VAR_POSITIONAL):
            problems.append(f"parameter {name!r} cannot be passed by keyword")
        elif parameter.kind is parameter.VAR_KEYWORD:
            problems.append(f"**{name} takes anything: the payload model should say what")
        elif name not in fields:
            required = "required " if parameter.default is parameter.empty else ""
            problems.append(f"{required}parameter {name!r} is not a field of {spec.payload.__name__}")
        elif name in hints and not accepts(hints[name], fields[name].annotation):
            problems.append(
                f"parameter {name!r}: {hints[name]!r} does not accept the field's {fields[name].annotation!r}"
            )
    for name, field in fields.items():
        if name not in parameters:
            required = "required " if field.is_required() else "optional "
            problems.append(f"{required}field {name!r} of {spec.payload.__name__} is not a parameter")
    return problems


SPECS = list(get_catalog())


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
def test_job_function_takes_exactly_its_payload_fields(spec: JobSpec) -> None:
    assert signature_problems(spec) == [], f"{spec.name} ({spec.function})"


def test_the_walk_covers_every_domain_of_the_catalog() -> None:
    domains = {spec.name.split(".")[0] for spec in SPECS}
    assert {"content", "notifications", "payments", "system", "schedules"} <= domains


# --- self-test: a function that drifted from its payload is caught --------------------------------


class DriftPayload(Payload):
    asset_id: Id
    sizes: list[int] = Field(default_factory=list)
    mode: Literal["fast", "slow"] = "fast"
    note: str | None = None


def agreeing_job(
    asset_id: int, sizes: collections.abc.Sequence[int], mode: str = "fast", note: str | None = None
) -> None:
    """Agrees with DriftPayload: wider parameter types are fine."""


def drifted_job(asset: int, sizes: list[str], mode: str, note: str, extra: int, *, flag: bool = False) -> None:
    """Drifted: ``asset_id`` renamed, wrong item type, ``note`` refuses None, parameters no field fills."""


def _spec(function: str) -> JobSpec:
    return Catalog().declare("testing.drift", function=function, payload=DriftPayload, priority=5, description="x")


def test_self_test_an_agreeing_function_passes() -> None:
    assert signature_problems(_spec(f"{__name__}.agreeing_job")) == []


def test_self_test_a_drifted_function_is_caught_on_every_point() -> None:
    assert signature_problems(_spec(f"{__name__}.drifted_job")) == [
        "required parameter 'asset' is not a field of DriftPayload",
        "parameter 'sizes': list[str] does not accept the field's list[int]",
        "parameter 'note': <class 'str'> does not accept the field's str | None",
        "required parameter 'extra' is not a field of DriftPayload",
        "parameter 'flag' is not a field of DriftPayload",
        "required field 'asset_id' of DriftPayload is not a parameter",
    ]
