// The official `openai` npm SDK against LangMart: chat, streaming (the docs' loop, and usage
// when asked), models, embeddings, and the Responses API (whole, streamed through the SDK's
// stream helper, with tools, continued with previous_response_id), native and translated.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: `${process.env.LANGMART_BASE}/v1`, apiKey: process.env.LANGMART_KEY, maxRetries: 0 });
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   node: ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL node: ${name}: ${e?.stack ?? e}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

await check("chat", async () => {
  const r = await client.chat.completions.create({ model: "openai/mock-large", messages: [{ role: "user", content: "hi" }] });
  assert(r.model === "openai/mock-large", r.model);
  assert(r.choices[0].message.content === "Hello from the mock.", JSON.stringify(r));
});
await check("the docs' streaming loop", async () => {
  // Exactly the loop of OpenAI's docs: it indexes choices[0] on every chunk.
  const stream = await client.chat.completions.create({ model: "openai/mock-large", stream: true, messages: [{ role: "user", content: "hi" }] });
  let text = "";
  for await (const chunk of stream) {
    text += chunk.choices[0].delta.content || "";
  }
  assert(text === "Hello from the mock.", text);
});
await check("stream with usage", async () => {
  const stream = await client.chat.completions.create({
    model: "openai/mock-large", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "hi" }],
  });
  let text = "";
  let usage = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? "";
    if (chunk.usage) usage = chunk.usage;
  }
  assert(text === "Hello from the mock.", text);
  assert(usage && usage.total_tokens === 13, JSON.stringify(usage));
});
await check("models", async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert(ids.includes("openai/mock-large"), ids.join(","));
});
await check("embeddings", async () => {
  const r = await client.embeddings.create({ model: "openai/mock-embed", input: "hello" });
  const v = r.data[0].embedding.map((x) => Math.round(x * 100) / 100);
  assert(JSON.stringify(v) === "[0.25,-0.5,0.75]", JSON.stringify(v));
});
const weather = [{ type: "function", name: "get_weather", description: "Weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
for (const [model, expected] of [["openai/mock-large", "Hello from the mock's Responses API."], ["groq/mock-large", "Hello from the mock."]]) {
  await check(`responses.create ${model}`, async () => {
    const r = await client.responses.create({ model, input: "hi" });
    assert(r.output_text === expected && r.model === model, JSON.stringify(r));
  });
  await check(`responses.stream ${model}`, async () => {
    const stream = client.responses.stream({ model, input: "hi" });
    let deltas = "";
    for await (const event of stream) if (event.type === "response.output_text.delta") deltas += event.delta;
    const final = await stream.finalResponse();
    assert(deltas === expected && final.output_text === expected, deltas);
  });
  await check(`responses tools ${model}`, async () => {
    const r = await client.responses.create({ model, input: "Weather in Paris?", tools: weather });
    const call = r.output.find((i) => i.type === "function_call");
    assert(call && call.name === "get_weather" && JSON.parse(call.arguments).city === "Paris", JSON.stringify(r.output));
    const done = await client.responses.create({ model, tools: weather, input: [
      { role: "user", content: "Weather in Paris?" }, call, { type: "function_call_output", call_id: call.call_id, output: "21°C" }] });
    assert(done.output_text === "Done: 21°C", done.output_text);
  });
}
await check("responses previous_response_id", async () => {
  const first = await client.responses.create({ model: "groq/mock-large", input: "My name is Ada.", store: true });
  const second = await client.responses.create({ model: "groq/mock-large", input: "And mine?", previous_response_id: first.id });
  assert(second.previous_response_id === first.id && second.output_text, JSON.stringify(second));
  const again = await client.responses.retrieve(first.id);
  assert(again.id === first.id, again.id);
});
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
