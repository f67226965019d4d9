"""JSON at the edge: one adapter per union, and the published JSON schema.

Inside a process everything is typed objects; JSON happens only here, when an op or event
crosses a process boundary (stream-json output, the server, the store).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import TypeAdapter

from kode.protocol.events import Event
from kode.protocol.ops import Op


@cache
def event_adapter() -> TypeAdapter[Event]:
    return TypeAdapter(Event)


@cache
def op_adapter() -> TypeAdapter[Op]:
    return TypeAdapter(Op)


def dump_event(event: Event) -> str:
    """One compact JSON line."""
    return event.model_dump_json()


def parse_event(data: str | bytes | dict[str, Any]) -> Event:
    if isinstance(data, dict):
        return event_adapter().validate_python(data)
    return event_adapter().validate_json(data)


def dump_op(op: Op) -> str:
    return op.model_dump_json()


def parse_op(data: str | bytes | dict[str, Any]) -> Op:
    if isinstance(data, dict):
        return op_adapter().validate_python(data)
    return op_adapter().validate_json(data)


def protocol_schema() -> dict[str, Any]:
    """JSON schema of both unions, as published in docs/protocol.schema.json."""
    event_schema = event_adapter().json_schema(mode="serialization")
    op_schema = op_adapter().json_schema(mode="validation")
    defs = {**event_schema.pop("$defs", {}), **op_schema.pop("$defs", {})}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "kode protocol",
        "description": "Ops (client to session) and Events (session to client), discriminated on `type`.",
        "$defs": {**defs, "Event": event_schema, "Op": op_schema},
        "oneOf": [{"$ref": "#/$defs/Event"}, {"$ref": "#/$defs/Op"}],
    }

