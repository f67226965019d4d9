"""The protocol: ids, Ops (what clients ask) and Events (what happens). Imports nothing of kode."""

from kode.protocol import events, ops
from kode.protocol.codec import (
    dump_event,
    dump_op,
    parse_event,
    parse_op,
    protocol_schema,
)
from kode.protocol.common import (
    ROOT_AGENT,
    AgentState,
    ErrorInfo,
    ErrorKind,
    ToolCallInfo,
    TurnStatus,
    Usage,
    new_id,
)
from kode.protocol.events import Event
from kode.protocol.ops import Op

__all__ = [
    "ROOT_AGENT",
    "AgentState",
    "ErrorInfo",
    "ErrorKind",
    "Event",
    "Op",
    "ToolCallInfo",
    "TurnStatus",
    "Usage",
    "dump_event",
    "dump_op",
    "events",
    "new_id",
    "ops",
    "parse_event",
    "parse_op",
    "protocol_schema",
]
