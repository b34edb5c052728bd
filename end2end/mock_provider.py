"""A small OpenAI-compatible provider for the end-to-end and SDK tests. It answers only
requests whose `Authorization: Bearer` key starts with `sk-e2e-`, like a provider that
knows its keys: GET /v1/models, POST /v1/chat/completions (whole or streamed, with a
usage chunk when asked), POST /v1/responses (OpenAI's Responses API, whole or streamed in
OpenAI's event sequence) and POST /v1/embeddings (float or base64). Offered tools, chat
and Responses call the first one (a shell tool with a command that writes a marker file)
until the conversation holds a tool result, then answer with text naming that result — so
agent loops (Codex, the Agents SDK, the AI SDK) run to the end. Under the /fail prefix
(base URL http://…/fail/v1) it lists models but answers every POST with 503, like a
provider that is down. Under /anthropic it is an Anthropic Messages API instead
(`x-api-key` + `anthropic-version`, GET /v1/models, POST /v1/messages whole or streamed,
POST /v1/messages/count_tokens), answering with a tool_use block when the request offers
tools. With MOCK_CAPTURE set, every POST (path, headers, body) is appended to that file
as a JSON line. Started on a free port by end2end/run.sh."""

import base64
import json
import os
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CAPTURE = os.environ.get("MOCK_CAPTURE")
CAPTURE_LOCK = threading.Lock()
# The command the mock asks a shell tool to run; agent tests look for the file it writes.
SHELL_COMMAND = "echo agent-ran-the-tool > agent_marker.txt && echo marker-written"


def tool_call_arguments(tool):
    """Arguments for a call to `tool` (a chat or Responses tool definition)."""
    fn = tool.get("function", tool)
    name = fn.get("name", "")
    props = ((fn.get("parameters") or {}).get("properties") or {})
    if "cmd" in props:  # Codex's exec_command
        return {"cmd": SHELL_COMMAND}
    if "command" in props:
        kind = (props["command"] or {}).get("type")
        return {"command": ["bash", "-lc", SHELL_COMMAND] if kind == "array" else SHELL_COMMAND}
    if name == "get_weather" or "city" in props:
        return {"city": "Paris"}
    return {key: "x" for key in props}


def pick_tool(tools):
    """The tool the mock calls: a shell tool when offered, else the first function tool."""
    usable = [t for t in tools if t.get("type", "function") == "function"]
    for t in usable:
        fn = t.get("function", t)
        props = ((fn.get("parameters") or {}).get("properties") or {})
        if "cmd" in props or "command" in props:
            return t
    return usable[0] if usable else None


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

    def read_body(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if CAPTURE:
            with CAPTURE_LOCK, open(CAPTURE, "a") as f:
                f.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": raw.decode(errors="replace")}) + "\n")
        return json.loads(raw or b"{}")

    def do_POST(self):
        path = self.path.split("?")[0].rstrip("/")
        if path in ("/anthropic/v1/messages", "/anthropic/v1/messages/count_tokens"):
            if not self.anthropic_auth():
                return
            body = self.read_body()
            if path.endswith("count_tokens"):
                return self.reply(200, {"input_tokens": 100 + len(json.dumps(body.get("messages"))) // 4})
            return self.messages(body)
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer sk-e2e-"):
            return self.reply(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
        body = self.read_body()
        if self.path.startswith("/fail/"):
            return self.reply(503, {"error": {"message": "The mock provider is down", "type": "server_error"}})
        path = self.path.rstrip("/")
        if path == "/v1/chat/completions":
            return self.chat(body)
        if path == "/v1/responses":
            return self.responses_api(body)
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
        messages = body.get("messages") or []
        tool = pick_tool(body.get("tools") or [])
        last = messages[-1] if messages else {}
        if tool and last.get("role") != "tool":
            return self.chat_tool_call(body, tool)
        text = "Hello from the mock."
        if last.get("role") == "tool":
            text = f"Done: {str(last.get('content'))[:200]}"
        if not body.get("stream"):
            return self.reply(200, {
                "id": "chatcmpl-e2e", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
            })
        if text != "Hello from the mock.":
            return self.chat_stream(model, body, [text])
        return self.chat_stream(model, body, ["Hello", " from", " the", " mock."])

    def chat_stream(self, model, body, pieces):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for piece in pieces:
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

    def chat_tool_call(self, body, tool):
        fn = tool.get("function", tool)
        call = {"index": 0, "id": "call_e2e_1", "type": "function",
                "function": {"name": fn["name"], "arguments": json.dumps(tool_call_arguments(tool))}}
        model = body.get("model")
        usage = {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}
        if not body.get("stream"):
            message = {"role": "assistant", "content": None, "tool_calls": [{k: v for k, v in call.items() if k != "index"}]}
            return self.reply(200, {"id": "chatcmpl-e2e", "object": "chat.completion", "created": int(time.time()), "model": model,
                                    "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}], "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        args = call["function"]["arguments"]
        head = dict(call, function={"name": call["function"]["name"], "arguments": ""})
        for delta, finish in (({"role": "assistant", "tool_calls": [head]}, None),
                              ({"tool_calls": [{"index": 0, "function": {"arguments": args[:7]}}]}, None),
                              ({"tool_calls": [{"index": 0, "function": {"arguments": args[7:]}}]}, "tool_calls")):
            chunk = {"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        if (body.get("stream_options") or {}).get("include_usage"):
            chunk = {"id": "chatcmpl-e2e", "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                     "choices": [], "usage": usage}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def responses_api(self, body):
        """OpenAI's Responses API, as OpenAI answers it."""
        items = body.get("input")
        items = [{"role": "user", "content": items}] if isinstance(items, str) else (items or [])
        tools = [t for t in (body.get("tools") or []) if t.get("type") == "function"]
        tool = pick_tool(tools)
        answered = any(i.get("type") == "function_call_output" for i in items)
        rid = f"resp_e2e_{int(time.time() * 1000)}"
        if tool and not answered:
            item = {"id": "fc_e2e_1", "type": "function_call", "status": "completed", "call_id": "call_e2e_1",
                    "name": tool["name"], "arguments": json.dumps(tool_call_arguments(tool))}
        else:
            outputs = [i for i in items if i.get("type") == "function_call_output"]
            text = f"Done: {str(outputs[-1].get('output'))[:200]}" if outputs else "Hello from the mock's Responses API."
            item = {"id": "msg_e2e_1", "type": "message", "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}
        usage = {"input_tokens": 15, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 5,
                 "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 20}

        def response(status, output, usage):
            return {"id": rid, "object": "response", "created_at": int(time.time()), "status": status, "error": None,
                    "incomplete_details": None, "instructions": body.get("instructions"), "model": body.get("model"),
                    "output": output, "parallel_tool_calls": True, "tool_choice": body.get("tool_choice", "auto"),
                    "tools": body.get("tools") or [], "store": body.get("store", True), "usage": usage}
        if not body.get("stream"):
            return self.reply(200, response("completed", [item], usage))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        seq = [0]

        def event(kind, data):
            data = dict(data, type=kind, sequence_number=seq[0])
            seq[0] += 1
            self.wfile.write(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode())
            self.wfile.flush()
        event("response.created", {"response": response("in_progress", [], None)})
        event("response.in_progress", {"response": response("in_progress", [], None)})
        if item["type"] == "message":
            text = item["content"][0]["text"]
            event("response.output_item.added", {"output_index": 0, "item": dict(item, status="in_progress", content=[])})
            event("response.content_part.added", {"item_id": item["id"], "output_index": 0, "content_index": 0,
                                                  "part": {"type": "output_text", "text": "", "annotations": []}})
            for piece in (text[:5], text[5:]):
                event("response.output_text.delta", {"item_id": item["id"], "output_index": 0, "content_index": 0,
                                                     "delta": piece, "logprobs": []})
            event("response.output_text.done", {"item_id": item["id"], "output_index": 0, "content_index": 0, "text": text, "logprobs": []})
            event("response.content_part.done", {"item_id": item["id"], "output_index": 0, "content_index": 0, "part": item["content"][0]})
        else:
            event("response.output_item.added", {"output_index": 0, "item": dict(item, status="in_progress", arguments="")})
            event("response.function_call_arguments.delta", {"item_id": item["id"], "output_index": 0, "delta": item["arguments"]})
            event("response.function_call_arguments.done", {"item_id": item["id"], "output_index": 0, "arguments": item["arguments"]})
        event("response.output_item.done", {"output_index": 0, "item": item})
        event("response.completed", {"response": response("completed", [item], usage)})

    def anthropic_auth(self):
        # Any API version: clients send the one they were written for.
        if not self.headers.get("x-api-key", "").startswith("sk-e2e-") or not self.headers.get("anthropic-version"):
            self.reply(401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}})
            return False
        return True

    def messages(self, body):
        if "max_tokens" not in body:
            return self.reply(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"}})
        tools = [t for t in (body.get("tools") or []) if "name" in t]
        last = (body.get("messages") or [{}])[-1]
        results = [b for b in (last.get("content") or []) if isinstance(b, dict) and b.get("type") == "tool_result"]
        if results:
            content = results[-1].get("content")
            if isinstance(content, list):
                content = "".join(c.get("text", "") for c in content if isinstance(c, dict))
            blocks = [{"type": "text", "text": f"Done: {str(content)[:200]}"}]
            stop = "end_turn"
        elif tools:
            # Claude Code's shell tool when offered, else the first tool.
            bash = next((t for t in tools if t["name"] == "Bash"), None)
            call = ({"name": "Bash", "input": {"command": SHELL_COMMAND, "description": "Write the marker file"}}
                    if bash else {"name": tools[0]["name"], "input": {"city": "Paris"}})
            blocks = [{"type": "text", "text": "Let me check."}, dict(call, type="tool_use", id="toolu_e2e_1")]
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
