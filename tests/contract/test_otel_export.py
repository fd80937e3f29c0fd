"""``SWITCHBOARD_OTEL=true``: each finished call reaches an OTLP/HTTP receiver as one GenAI span."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.app import KEY_A, app_client, auth, make_settings


async def test_turns_and_calls_are_exported_as_spans(tmp_path: Path) -> None:
    received: list[ExportTraceServiceRequest] = []

    class Receiver(BaseHTTPRequestHandler):  # a receiver of its own thread: the exporter posts from one
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            if self.path == "/v1/traces":
                received.append(ExportTraceServiceRequest.FromString(body))
            self.send_response(200 if self.path == "/v1/traces" else 404)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = make_settings(
            tmp_path,
            SWITCHBOARD_OTEL="true",
            SWITCHBOARD_OTEL_ENDPOINT=f"http://127.0.0.1:{port}",
            SWITCHBOARD_OTEL_SERVICE_NAME="switchboard-test",
        )
        async with app_client(settings) as client:
            turn = (await client.post("/v1/chat", json={"message": "trace me"}, headers=auth(KEY_A))).json()
            body = {"model": "scripted", "messages": [{"role": "user", "content": "and me"}]}
            assert (
                await client.post("/v1/chat/completions", json=body, headers=auth(KEY_A))
            ).status_code == 200
        # leaving the client shut the app down: the registry close exported what was queued
    finally:
        server.shutdown()
        server.server_close()
    spans = {
        span.name: ({kv.key: kv.value for kv in span.attributes}, resource)
        for request in received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    }
    assert set(spans) == {"invoke_agent assistant", "chat scripted-1"}
    agent, resource = spans["invoke_agent assistant"]
    assert {kv.key: kv.value.string_value for kv in resource.resource.attributes}["service.name"] == (
        "switchboard-test"
    )
    assert agent["gen_ai.provider.name"].string_value == "scripted"
    assert agent["gen_ai.conversation.id"].string_value == turn["conversation_id"]
    assert agent["gen_ai.usage.output_tokens"].int_value == turn["usage"]["output_tokens"]
    chat, _ = spans["chat scripted-1"]
    assert chat["switchboard.surface"].string_value == "openai.chat"
    assert "trace me" not in str(received)  # never prompt text
