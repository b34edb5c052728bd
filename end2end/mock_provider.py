"""A small OpenAI-compatible provider for the end-to-end and SDK tests. It answers only
requests whose `Authorization: Bearer` key starts with `sk-e2e-`, like a provider that
knows its keys: GET /v1/models, POST /v1/chat/completions (whole or streamed, with a
usage chunk when asked) and POST /v1/embeddings (float or base64). Under the /fail
prefix (base URL http://…/fail/v1) it lists models but answers every POST with 503, like
a provider that is down. Under /anthropic it is an Anthropic Messages API instead
(`x-api-key` + `anthropic-version`, GET /v1/models, POST /v1/messages whole or streamed),
answering with a tool_use block when the request offers tools. Started on a free port by
end2end/run.sh."""

import base64
import json
import struct
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/anthropic/"):
            if not self.anthropic_auth():
                return
            models = [{"type": "model", "id": "claude-mock", "display_name": "Claude Mock", "created_at": "2025-01-01T00:00:00Z"}]
            return self.reply(200, {"data": models, "has_more": False, "first_id": "claude-mock", "last_id": "claude-mock"})
        if self.path.startswith("/fail/"):
            self.path = self.path[len("/fail"):]
        if self.path.rstrip("/") != "/v1/models":
            return self.reply(404, {"error": {"message": "not found"}})
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer sk-e2e-"):
            return self.reply(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
        models = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "mock"} for m in ("mock-large", "mock-small", "mock-embed")]
        self.reply(200, {"object": "list", "data": models})

    def do_POST(self):
        if self.path.rstrip("/") == "/anthropic/v1/messages":
            if not self.anthropic_auth():
                return
            return self.messages(json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}"))
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer sk-e2e-"):
            return self.reply(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self.path.startswith("/fail/"):
            return self.reply(503, {"error": {"message": "The mock provider is down", "type": "server_error"}})
        path = self.path.rstrip("/")
        if path == "/v1/chat/completions":
            return self.chat(body)
        if path == "/v1/embeddings":
            vector = [0.25, -0.5, 0.75]
            if body.get("encoding_format") == "base64":
                embedding = base64.b64encode(struct.pack("<3f", *vector)).decode()
            else:
                embedding = vector
            return self.reply(200, {"object": "list", "model": body.get("model"),
                                    "data": [{"object": "embedding", "index": 0, "embedding": embedding}],
                                    "usage": {"prompt_tokens": 2, "total_tokens": 2}})
        self.reply(404, {"error": {"message": "not found"}})

    def chat(self, body):
        model = body.get("model")
        if not body.get("stream"):
            return self.reply(200, {
                "id": "chatcmpl-e2e", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the mock."},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
            })
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in ["Hello", " from", " the", " mock."]:
            chunk = {"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                     "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                     "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}
            self.wfile.write(f"data: {json.dumps(usage)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def anthropic_auth(self):
        if not self.headers.get("x-api-key", "").startswith("sk-e2e-") or self.headers.get("anthropic-version") != "2023-06-01":
            self.reply(401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})
            return False
        return True

    def messages(self, body):
        if "max_tokens" not in body:
            return self.reply(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}})
        tools = body.get("tools") or []
        if tools:
            blocks = [{"type": "text", "text": "Let me check."},
                      {"type": "tool_use", "id": "toolu_e2e_1", "name": tools[0]["name"], "input": {"city": "Paris"}}]
            stop = "tool_use"
        else:
            blocks = [{"type": "text", "text": "Hello from Claude mock."}]
            stop = "end_turn"
        usage = {"input_tokens": 12, "output_tokens": 6}
        if not body.get("stream"):
            return self.reply(200, {"id": "msg_e2e", "type": "message", "role": "assistant", "model": body.get("model"),
                                    "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

        def event(name, data):
            self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()

        event("message_start", {"type": "message_start", "message": {"id": "msg_e2e", "type": "message", "role": "assistant",
              "model": body.get("model"), "content": [], "stop_reason": None, "stop_sequence": None,
              "usage": {"input_tokens": 12, "output_tokens": 1}}})
        for i, block in enumerate(blocks):
            if block["type"] == "text":
                event("content_block_start", {"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}})
                for word in block["text"].split(" "):
                    piece = word if word == block["text"].split(" ")[0] else " " + word
                    event("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": piece}})
            else:
                event("content_block_start", {"type": "content_block_start", "index": i,
                      "content_block": {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})
                args = json.dumps(block["input"])
                for part in (args[:5], args[5:]):
                    event("content_block_delta", {"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": part}})
            event("content_block_stop", {"type": "content_block_stop", "index": i})
        event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": {"output_tokens": 6}})
        event("message_stop", {"type": "message_stop"})

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.serve_forever()
