// The Vercel AI SDK (`ai` + `@ai-sdk/openai`) against LangMart: the provider's default
// model, `openai(id)`, which speaks the Responses API — generateText and streamText, with a
// tool the SDK runs for several steps (its later steps name earlier items by reference),
// through a native OpenAI connection and a Groq connection translated to chat.
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, stepCountIs, streamText, tool } from "ai";

const openai = createOpenAI({ baseURL: `${process.env.LANGMART_BASE}/v1`, apiKey: process.env.LANGMART_KEY });
let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ai-sdk: ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ai-sdk: ${name}: ${e?.stack ?? e}`);
  }
}
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
const tools = {
  get_weather: tool({
    description: "The weather in a city",
    inputSchema: jsonSchema({ type: "object", properties: { city: { type: "string" } }, required: ["city"] }),
    execute: async ({ city }) => (city === "Paris" ? "21°C" : "unknown city"),
  }),
};
for (const [model, hello] of [["openai/mock-large", "Hello from the mock's Responses API."], ["groq/mock-large", "Hello from the mock."]]) {
  await check(`generateText ${model}`, async () => {
    const r = await generateText({ model: openai(model), prompt: "hi", maxRetries: 0 });
    assert(r.text === hello, r.text);
    assert(r.usage.inputTokens > 0, JSON.stringify(r.usage));
  });
  await check(`streamText ${model}`, async () => {
    const r = streamText({ model: openai(model), prompt: "hi", maxRetries: 0 });
    let text = "";
    for await (const delta of r.textStream) text += delta;
    assert(text === hello, text);
    assert((await r.finishReason) === "stop", await r.finishReason);
  });
  await check(`generateText with a tool, ${model}`, async () => {
    const r = await generateText({ model: openai(model), prompt: "Weather in Paris?", tools, stopWhen: stepCountIs(3), maxRetries: 0 });
    assert(r.steps.length === 2, `${r.steps.length} steps`);
    assert(r.text === "Done: 21°C", r.text);
  });
  await check(`streamText with a tool, ${model}`, async () => {
    const r = streamText({ model: openai(model), prompt: "Weather in Paris?", tools, stopWhen: stepCountIs(3), maxRetries: 0 });
    let text = "";
    for await (const delta of r.textStream) text += delta;
    assert(text === "Done: 21°C", text);
  });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
