"""The official `openai` Python SDK against LangMart: chat, streaming (the loop everyone
copies from the docs, and usage when asked), models, embeddings, tool calls from an
Anthropic provider translated to OpenAI's format, and the Responses API — whole, streamed
through the SDK's strict stream helper, with tools, and continued with
`previous_response_id` — both natively (an OpenAI connection) and translated to chat
(a Groq connection). Prints `N passed, N failed` and exits non-zero on any failure."""

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
                                                 stream_options={"include_usage": True},
                                                 messages=[{"role": "user", "content": "hi"}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the mock.", text
    assert chunks[-1].usage is not None and chunks[-1].choices == [], chunks[-1]


def docs_streaming_loop():
    # Exactly the loop of OpenAI's docs: it indexes choices[0] on every chunk.
    text = ""
    for model in ("openai/mock-large", "anthropic/claude-mock"):
        stream = client.chat.completions.create(model=model, stream=True,
                                                messages=[{"role": "user", "content": "hi"}])
        for chunk in stream:
            text += chunk.choices[0].delta.content or ""
    assert text == "Hello from the mock.Hello from Claude mock.", text


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
    assert all(c.choices for c in chunks), "no usage chunk unless asked"


def errors():
    from openai import NotFoundError
    try:
        client.chat.completions.create(model="openai/does-not-exist", messages=[{"role": "user", "content": "hi"}])
    except NotFoundError as e:
        assert e.status_code == 404
        assert e.body["code"] == "MODEL_NOT_FOUND", e.body
    else:
        raise AssertionError("expected a 404")


WEATHER = [{"type": "function", "name": "get_weather", "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


def responses_whole():
    native = client.responses.create(model="openai/mock-large", input="hi", store=False)
    assert native.output_text == "Hello from the mock's Responses API.", native
    assert native.model == "openai/mock-large" and native.usage.total_tokens == 20, native
    translated = client.responses.create(model="groq/mock-large", instructions="Be brief.", input="hi")
    assert translated.output_text == "Hello from the mock.", translated
    assert translated.status == "completed" and translated.usage.input_tokens == 9, translated


def responses_streamed():
    for model, expected in (("openai/mock-large", "Hello from the mock's Responses API."),
                            ("groq/mock-large", "Hello from the mock.")):
        # The SDK's stream helper checks the event sequence (created first, ids stable,
        # each item added once and finished before completed).
        with client.responses.stream(model=model, input="hi") as stream:
            deltas = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
            final = stream.get_final_response()
        assert deltas == expected and final.output_text == expected, (model, deltas, final)
        raw = [e.type for e in client.responses.create(model=model, input="hi", stream=True)]
        assert raw[0] == "response.created" and raw[-1] == "response.completed", raw


def responses_tools():
    for model in ("openai/mock-large", "groq/mock-large"):
        r = client.responses.create(model=model, input="Weather in Paris?", tools=WEATHER)
        call = next(i for i in r.output if i.type == "function_call")
        assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}, call
        done = client.responses.create(model=model, tools=WEATHER, input=[
            {"role": "user", "content": "Weather in Paris?"}, call.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": call.call_id, "output": "21°C"}])
        assert done.output_text == "Done: 21°C", done
        with client.responses.stream(model=model, input="Weather?", tools=WEATHER) as stream:
            final = stream.get_final_response()
        assert any(i.type == "function_call" for i in final.output), final


def responses_previous_response_id():
    first = client.responses.create(model="groq/mock-large", input="My name is Ada.", store=True)
    second = client.responses.create(model="groq/mock-large", input="What is my name?",
                                     previous_response_id=first.id, store=True)
    assert second.previous_response_id == first.id and second.output_text, second
    assert client.responses.retrieve(first.id).id == first.id
    items = client.responses.input_items.list(second.id)
    assert [i.content[0].text if isinstance(i.content, list) else i.content for i in items.data] == ["What is my name?"], items
    client.responses.delete(first.id)
    from openai import NotFoundError
    try:
        client.responses.retrieve(first.id)
    except NotFoundError:
        pass
    else:
        raise AssertionError("a deleted response is gone")


for name, fn in [("chat", chat), ("stream", stream), ("the docs' streaming loop", docs_streaming_loop),
                 ("models", models), ("embeddings", embeddings),
                 ("responses.create, native and translated", responses_whole),
                 ("responses.stream, native and translated", responses_streamed),
                 ("responses with tools", responses_tools),
                 ("responses previous_response_id, retrieve, input_items, delete", responses_previous_response_id),
                 ("tool calls from an Anthropic provider", tool_calls_from_anthropic),
                 ("streamed tool calls from an Anthropic provider", streamed_tool_calls_from_anthropic),
                 ("errors", errors)]:
    check(name, fn)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
