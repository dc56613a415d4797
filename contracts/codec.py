"""JSON for the records of contracts/models.py on the hot paths, read and written past faust's per-field
descriptors (orjson and a plan per record class).

faust's own ``Record.loads`` / ``dumps`` stay the wire format of the faust agents' topics. These functions read
that format (its ``__faust`` namespace keys are ignored) and write the same JSON without those keys, which
they read back: used where listwatch alone reads what it wrote (the list state in Redis) and where a lane
decodes Kafka records itself (the baseline lane). tests/contracts/test_codec.py checks both against faust's.
"""

from __future__ import annotations

import functools
import typing
from datetime import datetime
from typing import Any, TypeVar

import faust
import orjson

from contracts.models import build, field_type, is_record

_R = TypeVar("_R", bound=faust.Record)

# As faust writes its records (orjson, UTC as "Z"), without its namespace fields.
OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


class RecordDecodeError(ValueError):
    """The bytes are not JSON of the record they were read as."""


def fields_of(value: Any) -> Any:
    """orjson's fallback for faust records: their fields (nested records come back here)."""
    if isinstance(value, faust.Record):  # read past faust's field descriptors
        state = value.__dict__
        return {name: state[name] for name in value._options.fields}
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(record: faust.Record) -> bytes:
    return orjson.dumps(record, default=fields_of, option=OPTIONS)


def loads(cls: type[_R], raw: bytes | str) -> _R:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RecordDecodeError(f"{cls.__name__}: not JSON ({exc})") from None
    return from_data(cls, data)


# How a field's JSON value becomes its Python value (fields not named in a plan are taken as they are).
_ONE, _MANY, _DATETIME = range(3)


@functools.cache
def _plan(
    cls: type[faust.Record],
) -> tuple[tuple[tuple[str, int, Any], ...], frozenset[str], frozenset[str]]:
    """(the fields to convert, every field, the required fields) of a record class."""
    steps: list[tuple[str, int, Any]] = []
    for name, hint in cls._options.fields.items():
        model, many = field_type(hint)
        if is_record(model):
            steps.append((name, _MANY if many else _ONE, model))
        elif model is datetime and not many:
            steps.append((name, _DATETIME, None))
        elif any(is_record(a) for a in typing.get_args(hint)):
            raise TypeError(f"{cls.__name__}.{name}: {hint} is not supported here")
    every = frozenset(cls._options.fields)
    return tuple(steps), every, every - frozenset(cls._options.defaults)


def from_data(cls: type[_R], data: Any) -> _R:
    """The record from its decoded JSON, nested records and ISO dates included; unknown keys are ignored
    (faust's namespace, a newer writer's fields), a missing required one is an error. Like faust's own
    ``loads``, the values are taken as they are and ``__post_init__`` is not run. ``data`` itself becomes the
    record's state when it holds no unknown key (``loads`` passes the dict it decoded)."""
    if not isinstance(data, dict):
        raise RecordDecodeError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    steps, every, required = _plan(cls)  # type: ignore[arg-type]  # faust types its classes unhashable
    keys = data.keys()
    if not required <= keys:
        raise RecordDecodeError(f"{cls.__name__}: missing {', '.join(sorted(required - keys))}")
    fields = {k: data[k] for k in keys & every} if keys - every else data
    for name, how, model in steps:
        value = fields.get(name)
        if value is None:
            continue
        if how == _ONE:
            fields[name] = from_data(model, value)
        elif how == _MANY:
            if not isinstance(value, list):
                raise RecordDecodeError(f"{cls.__name__}.{name}: expected a list, got {type(value).__name__}")
            fields[name] = [from_data(model, v) for v in value]
        else:
            fields[name] = _datetime(cls, name, value)
    return build(cls, fields, post_init=False)


def _datetime(cls: type, name: str, value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise RecordDecodeError(f"{cls.__name__}.{name}: not an ISO date: {value!r}") from None
