// The official `openai` npm SDK against LangMart: chat, streaming, models, embeddings.
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
await check("stream", async () => {
  const stream = await client.chat.completions.create({ model: "openai/mock-large", stream: true, messages: [{ role: "user", content: "hi" }] });
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
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
