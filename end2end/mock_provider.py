"""A small OpenAI-compatible provider for the end-to-end tests: GET /v1/models answers
only requests whose `Authorization: Bearer` key starts with `sk-e2e-`, like a provider
that knows its keys. Started on a free port by end2end/run.sh."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.rstrip("/") != "/v1/models":
            return self.reply(404, {"error": {"message": "not found"}})
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer sk-e2e-"):
            return self.reply(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
        models = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "mock"} for m in ("mock-large", "mock-small", "mock-embed")]
        self.reply(200, {"object": "list", "data": models})

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
