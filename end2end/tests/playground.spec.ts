import { expect, test } from "@playwright/test";
import { connect, hydrated, signUp } from "./helpers";

test("the playground streams an answer and says who served it and how it was routed", async ({ page }) => {
  const mock = process.env.MOCK_PROVIDER_URL!;
  await signUp(page, "pg");
  const conn = await connect(page, "openai", "Playground Mock", mock);
  await page.getByRole("link", { name: "Playground" }).click();
  await hydrated(page);

  await page.getByLabel("Model").fill("openai/mock-large");
  await page.getByLabel("System prompt").fill("Be brief.");
  await page.getByLabel("Message").fill("Say hello");
  await page.getByLabel("Message").press("Enter");

  const conversation = page.getByTestId("conversation");
  await expect(conversation.locator('[data-role="user"]')).toContainText("Say hello");
  await expect(conversation.locator('[data-role="assistant"]')).not.toBeEmpty();
  await expect(page.getByTestId("served")).toContainText("Served by Playground Mock (openai)");
  await expect(page.getByTestId("figures")).toContainText(/\d+ ms, first token after \d+ ms · \d+ prompt \+ \d+ completion tokens/);
  await expect(page.getByTestId("explain")).toContainText(conn);
  const answer = (await conversation.locator('[data-role="assistant"] p').textContent())!;
  expect(answer.length).toBeGreaterThan(0);

  // A second turn carries the conversation; an unknown model is said plainly.
  await page.getByLabel("Model").fill("openai/no-such-model");
  await page.getByLabel("Message").fill("Again");
  await page.getByRole("button", { name: "Send" }).click();
  await expect(page.getByTestId("playground-error")).toContainText("404");
  await expect(conversation.locator('[data-role="user"]')).toHaveCount(2);

  // The call is in the request log like any other (written in batches: reload until it is).
  await expect(async () => {
    await page.goto("/logs");
    await hydrated(page);
    await expect(page.getByTestId("logs")).toContainText("openai/mock-large (stream)", { timeout: 1000 });
  }).toPass({ timeout: 15_000 });
});
