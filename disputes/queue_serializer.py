"""JSON serializer for the Huey task queue.

Huey's default serializer is pickle: whoever can write to the queue's storage (a Redis reachable
over the network in the scaled profile) could make every worker run code of their choosing when
it unpickles a message. This one writes JSON through Huey's documented extension point
(`Serializer._serialize` / `_deserialize`): messages, results, revocations and the few types they
carry (Huey's `Message` and `Error`, datetimes, tuples) are tagged objects, and reading never
builds anything but those. A payload that is not this JSON (for instance a pickle planted in
Redis) is refused with ValueError.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from huey.registry import Message
from huey.serializer import Serializer
from huey.utils import Error

TAG = "__huey__"


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Message):
        return {TAG: "message", "fields": [_encode(v) for v in value]}
    if isinstance(value, Error):
        return {TAG: "error", "metadata": _encode(value.metadata)}
    if isinstance(value, dt.datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, dt.date):
        return {TAG: "date", "value": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {TAG: "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, tuple):
        return {TAG: "tuple", "items": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if TAG not in value and all(isinstance(k, str) for k in value):
            return {k: _encode(v) for k, v in value.items()}
        return {TAG: "dict", "items": [[_encode(k), _encode(v)] for k, v in value.items()]}
    raise TypeError(f"{type(value).__name__} cannot go on the task queue as JSON")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(TAG)
    if kind is None:
        return {k: _decode(v) for k, v in value.items()}
    if kind == "message":
        return Message(*(_decode(v) for v in value["fields"]))
    if kind == "error":
        return Error(_decode(value["metadata"]))
    if kind == "datetime":
        return dt.datetime.fromisoformat(value["value"])
    if kind == "date":
        return dt.date.fromisoformat(value["value"])
    if kind == "timedelta":
        return dt.timedelta(seconds=value["seconds"])
    if kind == "tuple":
        return tuple(_decode(v) for v in value["items"])
    if kind == "dict":
        return {_decode(k): _decode(v) for k, v in value["items"]}
    raise ValueError(f"unknown tagged value {kind!r} on the task queue")


class JsonSerializer(Serializer):
    """Huey serializer writing UTF-8 JSON instead of pickle."""

    def _serialize(self, data: Any) -> bytes:
        return json.dumps(_encode(data), ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _deserialize(self, data: bytes) -> Any:
        try:
            return _decode(json.loads(data))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError("task queue payload is not JSON (refusing to unpickle it)") from exc
