"""Request validation derived from the KMS service model that botocore ships.

Each operation's input shape becomes a compiled validator: types, required
members, length and range limits, patterns and enumerations come from the model,
tightened where the service is stricter (``STRICTER``). Wrong JSON types answer
``SerializationException``; constraint violations answer ``ValidationException``
worded as AWS words them ("1 validation error detected: Value '89' at
'rotationPeriodInDays' failed to satisfy constraint: ..."). Blob members arrive
as Base64 text and leave validation as bytes.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sealbox.server.errors import (
    SerializationException,
    UnknownOperationException,
    ValidationException,
)

# (shape name) -> overrides where the service enforces more than the model says
STRICTER: dict[str, dict[str, int]] = {
    "PendingWindowInDaysType": {"min": 7, "max": 30},
}

Check = Callable[[Any, str, list[str]], Any]


@dataclass(frozen=True)
class Operation:
    name: str
    validate: Callable[[Any], dict[str, Any]]


def _violation(shown: str, path: str, constraint: str) -> str:
    return f"Value {shown}at '{path}' failed to satisfy constraint: Member must {constraint}"


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


QUOTED = 1024  # characters of a refused value an error message repeats


def _shown(value: object, sensitive: bool) -> str:
    if sensitive:
        return ""
    text = value if isinstance(value, str) else repr(value)
    # AWS quotes the whole value (a 257-character tag value in full); a bound all the same
    return f"'{text[:QUOTED]}' "


class _Compiler:
    def __init__(self, shapes: dict[str, Any]) -> None:
        self._shapes = shapes
        self._checks: dict[str, Check] = {}

    def check(self, shape_name: str) -> Check:
        if shape_name not in self._checks:
            self._checks[shape_name] = lambda v, p, e: self._checks[shape_name](
                v, p, e
            )  # recursion guard
            self._checks[shape_name] = self._compile(shape_name)
        return self._checks[shape_name]

    def _compile(self, name: str) -> Check:
        shape = {**self._shapes[name], **STRICTER.get(name, {})}
        kind = shape["type"]
        if kind == "structure":
            return self._structure(shape)
        if kind == "list":
            return self._list(shape)
        if kind == "map":
            return self._map(shape)
        return self._scalar(shape)

    def _structure(self, shape: dict[str, Any]) -> Check:
        members = {
            m: (self.check(spec["shape"]), _camel(m))
            for m, spec in shape.get("members", {}).items()
        }
        required = tuple(shape.get("required", ()))

        def check(value: Any, path: str, errors: list[str]) -> dict[str, Any]:
            if not isinstance(value, dict):
                raise SerializationException(f"Expected a JSON object at '{path or 'request'}'.")
            result: dict[str, Any] = {}
            for member in required:
                if value.get(member) is None:
                    where = f"{path}.{_camel(member)}" if path else _camel(member)
                    errors.append(
                        f"Value null at '{where}' failed to satisfy constraint: Member must not be null"
                    )
            for member, item in value.items():
                spec = members.get(member)
                if spec is None or item is None:
                    continue  # unknown members are ignored, as by the service
                member_check, camel = spec
                result[member] = member_check(item, f"{path}.{camel}" if path else camel, errors)
            return result

        return check

    def _list(self, shape: dict[str, Any]) -> Check:
        item_check = self.check(shape["member"]["shape"])
        low, high = shape.get("min"), shape.get("max")

        def check(value: Any, path: str, errors: list[str]) -> list[Any]:
            if not isinstance(value, list):
                raise SerializationException(f"Expected a list at '{path}'.")
            if low is not None and len(value) < low:
                errors.append(_violation("", path, f"have length greater than or equal to {low}"))
            if high is not None and len(value) > high:
                errors.append(_violation("", path, f"have length less than or equal to {high}"))
            return [
                item_check(item, f"{path}.{i + 1}.member", errors) for i, item in enumerate(value)
            ]

        return check

    def _map(self, shape: dict[str, Any]) -> Check:
        key_check = self.check(shape["key"]["shape"])
        value_check = self.check(shape["value"]["shape"])

        def check(value: Any, path: str, errors: list[str]) -> dict[Any, Any]:
            if not isinstance(value, dict):
                raise SerializationException(f"Expected a JSON object at '{path}'.")
            return {
                key_check(k, path, errors): value_check(v, path, errors) for k, v in value.items()
            }

        return check

    def _scalar(self, shape: dict[str, Any]) -> Check:
        kind = shape["type"]
        low, high = shape.get("min"), shape.get("max")
        # ASCII: the model's patterns are Java's, where \w, \d and \s are ASCII classes
        # (Python's match any script's letters, digits and spaces).
        pattern = re.compile(shape["pattern"], re.ASCII) if "pattern" in shape else None
        enum = frozenset(shape["enum"]) if "enum" in shape else None
        sensitive = bool(shape.get("sensitive")) or kind == "blob"

        def check(value: Any, path: str, errors: list[str]) -> Any:
            if kind == "string":
                if not isinstance(value, str):
                    raise SerializationException(f"Expected a string at '{path}'.")
                size = len(value)
            elif kind == "blob":
                if not isinstance(value, str):
                    raise SerializationException(f"Expected Base64 text at '{path}'.")
                try:
                    value = base64.b64decode(value, validate=True)
                except ValueError:  # binascii.Error, or text that is not ASCII at all
                    raise SerializationException(
                        f"The value at '{path}' is not valid Base64."
                    ) from None
                size = len(value)
            elif kind in ("integer", "long"):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise SerializationException(f"Expected an integer at '{path}'.")
                size = value
            elif kind == "boolean":
                if not isinstance(value, bool):
                    raise SerializationException(f"Expected true or false at '{path}'.")
                return value
            elif kind == "timestamp":
                return _timestamp(value, path)
            else:
                raise SerializationException(f"Unsupported value at '{path}'.")
            if (
                (low is None or size >= low)
                and (high is None or size <= high)
                and (pattern is None or pattern.fullmatch(value))
                and (enum is None or value in enum)
            ):
                return value  # valid: no message to word
            shown = _shown(value, sensitive)
            what = "value" if kind in ("integer", "long") else "length"
            if low is not None and size < low:
                errors.append(
                    _violation(shown, path, f"have {what} greater than or equal to {low}")
                )
            if high is not None and size > high:
                errors.append(_violation(shown, path, f"have {what} less than or equal to {high}"))
            if pattern is not None and not pattern.fullmatch(value):
                errors.append(
                    _violation(
                        shown, path, f"satisfy regular expression pattern: {pattern.pattern}"
                    )
                )
            if enum is not None and value not in enum:
                choices = ", ".join(sorted(enum))
                errors.append(_violation(shown, path, f"satisfy enum value set: [{choices}]"))
            return value

        return check


def _timestamp(value: Any, path: str) -> float:
    """Seconds since the epoch: a finite number (a 400-digit integer is none)."""
    moment = math.inf
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            moment = float(value)
        except OverflowError:
            pass
    if not math.isfinite(moment):
        raise SerializationException(f"Expected a timestamp (seconds since the epoch) at '{path}'.")
    return moment


@cache
def _service_model() -> dict[str, Any]:
    import botocore.loaders

    model: dict[str, Any] = botocore.loaders.Loader().load_service_model("kms", "service-2")
    return model


@cache
def _compiler() -> _Compiler:
    return _Compiler(_service_model()["shapes"])


@cache
def operation(name: str) -> Operation:
    spec = _service_model()["operations"].get(name)
    if spec is None:
        raise UnknownOperationException(f"Operation {name} is not part of the KMS API.")
    check = _compiler().check(spec["input"]["shape"]) if "input" in spec else None

    def validate(body: Any) -> dict[str, Any]:
        if check is None:
            return {}
        errors: list[str] = []
        result: dict[str, Any] = check(body, "", errors)
        if errors:
            count = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected: "
            raise ValidationException(count + "; ".join(errors))
        return result

    return Operation(name, validate)
