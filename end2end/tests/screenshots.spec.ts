import { expect, test } from "@playwright/test";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiKey, connect, hydrated, logIn, OPERATOR } from "./helpers";

// Not part of the suite: end2end/screenshots.sh sets SCREENSHOTS_DIR and runs this to
// refresh docs/screenshots/ (every page at 1280 and 400 px, with some traffic to show).
const dir = process.env.SCREENSHOTS_DIR;

test("screenshots of every page at 1280 and 400 px", async ({ page, request }) => {
  test.skip(!dir, "only when refreshing docs/screenshots (end2end/screenshots.sh)");
  test.setTimeout(300_000);
  const mock = process.env.MOCK_PROVIDER_URL!;
  await logIn(page, OPERATOR.email, OPERATOR.password);
  await connect(page, "openai", "OpenAI (mock)", mock);
  await connect(page, "groq", "Groq (mock)", mock);
  // One connection saved with a wrong key: listed red, with a notification.
  await page.evaluate(async (endpoint) => {
    await fetch("/api/fn/create_connection", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ req: { provider: "mistral", name: "Mistral (wrong key)", api_key: "sk-wrong-000", endpoint_url: endpoint } }),
    });
  }, mock);
  await page.evaluate(async () => {
    await fetch("/api/fn/save_collection", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: null, input: { name: "everyday", strategy: "fallback", models: ["openai/mock-large", "groq/mock-large"] } }),
    });
  });
  // A self-hosted gateway with a connected agent, for the Gateways page.
  const gateway = await page.evaluate(async () => {
    const res = await fetch("/api/fn/create_gateway", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: "name=lab-gpus",
    });
    return (await res.json()).token as string;
  });
  const gwDir = mkdtempSync(join(tmpdir(), "lm-shot-"));
  writeFileSync(join(gwDir, "gateway.toml"), `[[upstream]]\nname = "gpu-box"\nprovider = "ollama"\nurl = "${mock}"\napi_key = "sk-e2e-gateway-agent"\n`);
  const agent = spawn(process.env.LANGMART_BIN!, ["gateway", "--server", page.url().split("/").slice(0, 3).join("/"), "--config", join(gwDir, "gateway.toml")], {
    env: { ...process.env, LANGMART_GATEWAY_TOKEN: gateway },
    stdio: "ignore",
  });
  test.info().attach("agent pid", { body: String(agent.pid) });
  const key = await apiKey(page, "screenshots");
  for (let i = 0; i < 24; i++) {
    const model = ["openai/mock-large", "collection/everyday", "groq/mock-small", "openai/missing"][i % 4];
    await request.post("/v1/chat/completions", {
      headers: { Authorization: `Bearer ${key}` },
      data: { model, messages: [{ role: "user", content: `hello ${i}` }], stream: i % 3 === 0 },
    });
  }
  // The request log writes in batches: wait until the dashboard has all of it.
  await expect(async () => {
    await page.goto("/dashboard");
    await hydrated(page);
    await expect(page.getByTestId("stat-requests")).toContainText("24", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  const pages: [string, string][] = [
    ["dashboard", "/dashboard"],
    ["connections", "/connections"],
    ["models", "/models"],
    ["collections", "/collections"],
    ["logs", "/logs"],
    ["playground", "/playground"],
    ["notifications", "/notifications"],
    ["gateways", "/gateways"],
    ["settings-account", "/settings"],
    ["settings-keys", "/settings/keys"],
    ["settings-providers", "/settings/providers"],
  ];
  for (const width of [1280, 400]) {
    await page.setViewportSize({ width, height: 900 });
    for (const [name, path] of pages) {
      await page.goto(path);
      await hydrated(page);
      await page.screenshot({ path: `${dir}/${name}-${width}.png`, fullPage: true });
    }
  }
  agent.kill("SIGKILL");
});
