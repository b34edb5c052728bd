import { expect, test } from "@playwright/test";
import { apiKey, connect, hydrated, signUp } from "./helpers";

test("the dashboard shows the traffic a person's key made, by period, with names", async ({ page, request }) => {
  const mock = process.env.MOCK_PROVIDER_URL!;
  await signUp(page, "db");
  await expect(page.getByTestId("dashboard-empty")).toContainText("No requests in the last day");

  await connect(page, "openai", "Dash Mock", mock);
  const key = await apiKey(page, "dash-key");
  const call = (model: string) =>
    request.post("/v1/chat/completions", {
      headers: { Authorization: `Bearer ${key}` },
      data: { model, messages: [{ role: "user", content: "hello" }], max_tokens: 16 },
    });
  for (let i = 0; i < 3; i++) expect((await call("openai/mock-large")).status()).toBe(200);
  expect((await call("openai/no-such-model")).status()).toBe(404);

  // The request log is written in batches: reload until this traffic is in.
  await expect(async () => {
    await page.goto("/dashboard");
    await hydrated(page);
    await expect(page.getByTestId("stat-requests")).toContainText("4", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.getByTestId("stat-errors")).toContainText("1 (25.0%)");
  for (const chart of ["requests", "errors", "error-rate", "p50", "p95", "ttft", "tokens", "cost"]) {
    await expect(page.getByTestId(`chart-${chart}`).locator("svg")).toBeVisible();
  }
  // Each bucket says its value on hover; this bucket holds all four requests.
  const titles = await page.getByTestId("chart-requests").locator("rect.hover title").allTextContents();
  expect(titles.some((t) => / UTC: 4$/.test(t))).toBe(true);
  await expect(page.getByTestId("by-connection")).toContainText("Dash Mock");
  await expect(page.getByTestId("by-key")).toContainText("dash-key");
  await expect(page.getByTestId("by-model")).toContainText("openai/mock-large");

  // Other periods hold the same traffic.
  await page.getByRole("button", { name: "Last hour" }).click();
  await expect(page.getByRole("button", { name: "Last hour" })).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("chart-requests").locator("rect.hover")).toHaveCount(60);
  await expect(page.getByTestId("stat-requests")).toContainText("4");
});

test("an organization's admin switches the dashboard to the traffic its connections served", async ({ page, request }) => {
  const mock = process.env.MOCK_PROVIDER_URL!;
  const handle = await signUp(page, "dorg");
  const org = `${handle}-team`;
  await page.evaluate(async ({ org, endpoint }) => {
    const made = await fetch("/api/fn/create_org", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `name=Team&handle=${encodeURIComponent(org)}`,
    });
    if (!made.ok) throw new Error(`create_org: ${made.status} ${await made.text()}`);
    const conn = await fetch("/api/fn/create_connection", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        req: { provider: "openai", name: "Team Mock", api_key: "sk-e2e-collections-0001", endpoint_url: endpoint,
               max_retries: 0, scope: "organization", organization: org },
      }),
    });
    if (!conn.ok) throw new Error(`create_connection: ${conn.status} ${await conn.text()}`);
  }, { org, endpoint: mock });
  const key = await apiKey(page, "team-key");
  for (let i = 0; i < 2; i++) {
    const res = await request.post("/v1/chat/completions", {
      headers: { Authorization: `Bearer ${key}` },
      data: { model: "openai/mock-large", messages: [{ role: "user", content: "hello" }] },
    });
    expect(res.status()).toBe(200);
  }
  await expect(async () => {
    await page.goto("/dashboard");
    await hydrated(page);
    await page.getByTestId("dashboard-scope").selectOption(org);
    await expect(page.getByTestId("stat-requests")).toContainText("2", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.getByTestId("by-connection")).toContainText("Team Mock");
  await expect(page.getByTestId("by-key")).toContainText(`@${handle} / team-key`);
});
