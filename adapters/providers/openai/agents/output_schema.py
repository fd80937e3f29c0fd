"""An agent's ``output_schema`` (plain JSON Schema) as the SDK's structured-output contract."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
from agents import AgentOutputSchemaBase, ModelBehaviorError
from agents.strict_schema import ensure_strict_json_schema


class JsonSchemaOutput(AgentOutputSchemaBase):
    """Structured output described by a JSON Schema; the final output is the model's JSON text.

    Strict mode (guaranteed-valid JSON on OpenAI) is used when the schema can be made strict, otherwise
    the schema is sent as given, non-strict.
    """

    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        self._name = name
        try:
            self._schema = ensure_strict_json_schema(copy.deepcopy(schema))
            self._strict = True
        except Exception:
            self._schema = schema
            self._strict = False

    def is_plain_text(self) -> bool:
        return False

    def name(self) -> str:
        return self._name

    def json_schema(self) -> dict[str, Any]:
        return self._schema

    def is_strict_json_schema(self) -> bool:
        return self._strict

    def validate_json(self, json_str: str) -> str:
        """The JSON text itself, once it is known to parse."""
        try:
            msgspec.json.decode(json_str)
        except msgspec.DecodeError:
            raise ModelBehaviorError("the model's structured output is not valid JSON") from None
        return json_str.strip()
