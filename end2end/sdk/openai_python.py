"""The official `openai` Python SDK against LangMart: chat, streaming, models, embeddings.
Prints `N passed, N failed` and exits non-zero on any failure."""

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


def errors():
    from openai import NotFoundError
    try:
        client.chat.completions.create(model="openai/does-not-exist", messages=[{"role": "user", "content": "hi"}])
    except NotFoundError as e:
        assert e.status_code == 404
        assert e.body["code"] == "MODEL_NOT_FOUND", e.body
    else:
        raise AssertionError("expected a 404")


for name, fn in [("chat", chat), ("stream", stream), ("models", models), ("embeddings", embeddings), ("errors", errors)]:
    check(name, fn)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
