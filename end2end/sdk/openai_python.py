"""The official `openai` Python SDK against LangMart: chat, streaming, models, embeddings,
and tool calls from an Anthropic provider translated to OpenAI's format. Prints
`N passed, N failed` and exits non-zero on any failure."""

import json
import os
import sys
import traceback

from openai import OpenAI

client = OpenAI(base_url=os.environ["LANGMART_BASE"] + "/v1", api_key=os.environ["LANGMART_KEY"], max_retries=0)
passed, failed = 0, 0


def check(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print(f"ok   python: {name}")
    except Exception:  # noqa: BLE001 - report every failure and go on
        failed += 1
        print(f"FAIL python: {name}")
        traceback.print_exc()


def chat():
    r = client.chat.completions.create(model="openai/mock-large", messages=[{"role": "user", "content": "hi"}])
    assert r.model == "openai/mock-large", r.model
    assert r.choices[0].message.content == "Hello from the mock."
    assert r.usage.total_tokens == 13


def stream():
    chunks = list(client.chat.completions.create(model="openai/mock-large", stream=True,
                                                 messages=[{"role": "user", "content": "hi"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the mock.", text
    assert chunks[-1].usage is not None and chunks[-1].choices == [], chunks[-1]


def models():
    ids = [m.id for m in client.models.list()]
    assert "openai/mock-large" in ids, ids


def embeddings():
    r = client.embeddings.create(model="openai/mock-embed", input="hello")
    assert [round(x, 2) for x in r.data[0].embedding] == [0.25, -0.5, 0.75], r.data[0].embedding


TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def tool_calls_from_anthropic():
    r = client.chat.completions.create(model="anthropic/claude-mock", tools=TOOLS,
                                       messages=[{"role": "user", "content": "Weather in Paris?"}])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    assert choice.message.content == "Let me check.", choice.message
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather", call
    assert json.loads(call.function.arguments) == {"city": "Paris"}, call.function.arguments
    assert r.usage.prompt_tokens == 12 and r.usage.completion_tokens == 6, r.usage
    # The tool's answer goes back; the provider sees a tool_result and answers.
    follow = client.chat.completions.create(model="anthropic/claude-mock", tools=TOOLS, messages=[
        {"role": "user", "content": "Weather in Paris?"},
        choice.message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "21°C"},
    ])
    assert follow.choices[0].message is not None


def streamed_tool_calls_from_anthropic():
    chunks = list(client.chat.completions.create(model="anthropic/claude-mock", tools=TOOLS, stream=True,
                                                 messages=[{"role": "user", "content": "Weather in Paris?"}]))
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    assert calls and calls[0].id and calls[0].function.name == "get_weather", calls
    args = "".join(tc.function.arguments or "" for tc in calls)
    assert json.loads(args) == {"city": "Paris"}, args
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["tool_calls"], finish
    assert chunks[-1].usage.total_tokens == 18, chunks[-1]


def errors():
    from openai import NotFoundError
    try:
        client.chat.completions.create(model="openai/does-not-exist", messages=[{"role": "user", "content": "hi"}])
    except NotFoundError as e:
        assert e.status_code == 404
        assert e.body["code"] == "MODEL_NOT_FOUND", e.body
    else:
        raise AssertionError("expected a 404")


for name, fn in [("chat", chat), ("stream", stream), ("models", models), ("embeddings", embeddings),
                 ("tool calls from an Anthropic provider", tool_calls_from_anthropic),
                 ("streamed tool calls from an Anthropic provider", streamed_tool_calls_from_anthropic),
                 ("errors", errors)]:
    check(name, fn)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
