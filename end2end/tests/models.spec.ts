import { expect, test } from "@playwright/test";
import { connect, hydrated, signUp } from "./helpers";

test("the Models page lists every model a person can route to, with its connections and price", async ({ page }) => {
  const mock = process.env.MOCK_PROVIDER_URL!;
  const handle = await signUp(page, "mdl");
  await page.goto("/models");
  await hydrated(page);
  await expect(page.getByTestId("models-empty")).toBeVisible();

  await connect(page, "openai", "Models Mock", mock);
  await connect(page, "groq", "Fast Mock", mock);
  await page.goto("/models");
  await hydrated(page);
  const large = page.locator('tr[data-model="openai/mock-large"]');
  await expect(large).toContainText("Models Mock");
  await expect(large).toContainText(`${handle}/openai/mock-large`);
  await expect(page.locator('tr[data-model="groq/mock-large"]')).toContainText("Fast Mock");

  // Filtering as you type, by model or connection name.
  await page.getByTestId("models-filter").fill("fast");
  await expect(page.locator('tr[data-model="groq/mock-large"]')).toBeVisible();
  await expect(large).toBeHidden();
});
