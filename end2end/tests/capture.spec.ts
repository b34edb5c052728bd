import { expect, test } from "@playwright/test";
import { apiKey, connect, hydrated, signUp } from "./helpers";

test("body capture: off by default, then a call's request and response in the log's detail", async ({ page, request }) => {
  const mock = process.env.MOCK_PROVIDER_URL!;
  await signUp(page, "bc");
  await connect(page, "openai", "Capture Mock", mock);
  const key = await apiKey(page, "capture-key");
  const call = (content: string) =>
    request.post("/v1/chat/completions", {
      headers: { Authorization: `Bearer ${key}` },
      data: { model: "openai/mock-large", messages: [{ role: "user", content }] },
    });
  const openNewest = async () => {
    await expect(async () => {
      await page.goto("/logs");
      await hydrated(page);
      await expect(page.getByTestId("logs").locator("tbody tr").first()).toBeVisible({ timeout: 1000 });
    }).toPass({ timeout: 15_000 });
    await page.getByTestId("logs").locator("tbody tr").first().click();
    await page.getByRole("button", { name: "Show bodies" }).click();
  };

  expect((await call("before capture")).status()).toBe(200);
  await openNewest();
  await expect(page.getByTestId("log-bodies")).toContainText("No bodies kept for this request");

  await page.goto("/settings");
  await hydrated(page);
  const form = page.getByTestId("body-capture");
  await form.getByLabel("Keep request and response bodies").check();
  await form.getByLabel("Keep them for").fill("forty");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.locator('[data-field="retention_days"]')).toContainText('"forty" is not a whole number');
  await form.getByLabel("Keep them for").fill("3");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("toast")).toHaveText("Bodies of your calls are kept 3 days from now on.");

  expect((await call("a prompt worth keeping")).status()).toBe(200);
  // The log is written in batches: wait until the new row is the newest.
  await expect(async () => {
    await openNewest();
    await expect(page.getByTestId("log-bodies")).toContainText("a prompt worth keeping", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
  await expect(page.getByTestId("log-bodies").locator("pre").nth(1)).toContainText('"choices"');
});
