"""What the protocol surfaces answer, for the OpenAPI document: their success body (and, for streams,
``text/event-stream``, added by ``backend/http/openapi.finish``) and every error status in the vendor's own
envelope, not problem+json."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from backend.http.surfaces.anthropic_errors import ERROR_STATUSES as ANTHROPIC_STATUSES
from backend.http.surfaces.anthropic_messages.wire import ErrorBodyOut as AnthropicErrorBody
from backend.http.surfaces.openai_errors import OpenAIErrorBody

OPENAI_STATUSES = {
    400: "Invalid parameter (named in error.param), blocked by a guardrail, or refused by the provider",
    401: "No API key, or an invalid, expired or revoked one",
    403: "The API key lacks the scope this route needs",
    404: "Unknown model, response or conversation",
    413: "The request body is over SWITCHBOARD_MAX_BODY_BYTES",
    415: "The request body is not JSON",
    429: "A limit of this API key was reached; retry after Retry-After seconds",
    502: "Every deployment failed and retrying will not help",
    503: "Every deployment failed or is cooling down, a store is down, or the instance is draining",
}
STREAMING_PATHS = frozenset({"/v1/chat/completions", "/v1/responses", "/v1/messages"})
"""Surfaces whose 200 is also ``text/event-stream`` (when the body asks for ``stream``)."""


def _ok(success: type | None, description: str) -> dict[int, ResponseSpec]:
    if success is None:
        return {}
    return {200: ResponseSpec(data_container=success, description=description, generate_examples=False)}


def openai_responses(success: type | None, description: str = "The answer") -> dict[int, ResponseSpec]:
    errors = {
        status: ResponseSpec(data_container=OpenAIErrorBody, description=text, generate_examples=False)
        for status, text in OPENAI_STATUSES.items()
    }
    return {**_ok(success, description), **errors}


def anthropic_responses(success: type | None, description: str = "The answer") -> dict[int, ResponseSpec]:
    errors = {
        status: ResponseSpec(data_container=AnthropicErrorBody, description=text, generate_examples=False)
        for status, text in ANTHROPIC_STATUSES.items()
    }
    return {**_ok(success, description), **errors}
