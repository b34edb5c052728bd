"""The official `anthropic` Python SDK against LangMart's /v1/messages: whole and streamed
answers from an OpenAI-compatible provider, tool use through the Anthropic provider, the
model list and an error. Prints `N passed, N failed` and exits non-zero on any failure."""

import os
import sys
import traceback

from anthropic import Anthropic, NotFoundError

# The SDK adds /v1/messages itself: the base URL is LangMart's root.
client = Anthropic(base_url=os.environ["LANGMART_BASE"], api_key=os.environ["LANGMART_KEY"], max_retries=0)
passed, failed = 0, 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"ok   anthropic-python: {name}")
    except Exception:  # noqa: BLE001 - report every failure and go on
        failed += 1
        print(f"FAIL anthropic-python: {name}")
        traceback.print_exc()


def message():
    m = client.messages.create(model="openai/mock-large", max_tokens=64, system="Be brief.",
                               messages=[{"role": "user", "content": "hi"}])
    assert m.model == "openai/mock-large", m.model
    assert m.content[0].type == "text" and m.content[0].text == "Hello from the mock.", m.content
    assert m.stop_reason == "end_turn", m.stop_reason
    assert m.usage.input_tokens == 9 and m.usage.output_tokens == 4, m.usage


def stream():
    with client.messages.stream(model="openai/mock-large", max_tokens=64,
                                messages=[{"role": "user", "content": "hi"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "Hello from the mock.", text
    assert final.content[0].text == "Hello from the mock.", final.content
    assert final.stop_reason == "end_turn", final.stop_reason
    assert final.usage.output_tokens == 4, final.usage


def raw_stream_events():
    events = list(client.messages.create(model="openai/mock-large", max_tokens=64, stream=True,
                                         messages=[{"role": "user", "content": "hi"}]))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"], kinds


def tool_use_through_anthropic_provider():
    tools = [{"name": "get_weather", "description": "Weather for a city",
              "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    m = client.messages.create(model="anthropic/claude-mock", max_tokens=128, tools=tools,
                               messages=[{"role": "user", "content": "Weather in Paris?"}])
    assert m.stop_reason == "tool_use", m.stop_reason
    call = next(b for b in m.content if b.type == "tool_use")
    assert call.name == "get_weather" and call.input == {"city": "Paris"}, call
    with client.messages.stream(model="anthropic/claude-mock", max_tokens=128, tools=tools,
                                messages=[{"role": "user", "content": "Weather in Paris?"}]) as s:
        final = s.get_final_message()
    call = next(b for b in final.content if b.type == "tool_use")
    assert call.input == {"city": "Paris"}, call
    answer = client.messages.create(model="anthropic/claude-mock", max_tokens=128, tools=tools, messages=[
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": [b.model_dump() for b in m.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "21°C"}]},
    ])
    assert answer.content, answer


def models():
    ids = [m.id for m in client.models.list()]
    assert "openai/mock-large" in ids and "anthropic/claude-mock" in ids, ids


def errors():
    try:
        client.messages.create(model="openai/does-not-exist", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    except NotFoundError as e:
        assert e.status_code == 404
        assert e.body["error"]["code"] == "MODEL_NOT_FOUND", e.body
        assert e.body["error"]["type"] == "not_found_error", e.body
    else:
        raise AssertionError("expected a 404")


def count_tokens():
    counted = client.messages.count_tokens(model="anthropic/claude-mock",
                                           messages=[{"role": "user", "content": "Hello, Claude"}])
    assert counted.input_tokens > 100, counted  # the mock's own count
    estimated = client.messages.with_raw_response.count_tokens(
        model="openai/mock-large", messages=[{"role": "user", "content": "x" * 400}])
    assert estimated.headers["x-langmart-token-count"] == "estimated", estimated.headers
    assert 90 <= estimated.parse().input_tokens <= 140, estimated.parse()


def model_by_id():
    m = client.models.retrieve("anthropic/claude-mock")
    assert m.id == "anthropic/claude-mock" and m.type == "model", m


for name, fn in [("message", message), ("count_tokens", count_tokens), ("models.retrieve", model_by_id), ("stream", stream), ("raw stream events", raw_stream_events),
                 ("tool use through the Anthropic provider", tool_use_through_anthropic_provider),
                 ("models", models), ("errors", errors)]:
    check(name, fn)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
