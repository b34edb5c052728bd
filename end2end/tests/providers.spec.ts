import { expect, test } from "@playwright/test";
import { hydrated, logIn, OPERATOR, unique } from "./helpers";

test("a platform admin adds a provider, then edits its name and base URL", async ({ page }) => {
  await logIn(page, OPERATOR.email, OPERATOR.password);
  await page.goto("/settings/providers");
  await hydrated(page);
  const key = unique("acme-");
  const add = page.locator("section", { has: page.getByRole("heading", { name: "Add a provider" }) });
  await add.getByLabel("Key").fill(key);
  await add.getByLabel("Name").fill("Acme LLM");
  await add.getByLabel("Default base URL").fill("https://api.acme.example/v1");
  await add.getByRole("button", { name: "Add provider" }).click();
  const row = page.locator(`tr[data-provider="${key}"]`);
  await expect(row).toContainText("Acme LLM");

  await row.getByRole("button", { name: "Edit" }).click();
  await page.locator('input[name="provider-name"]').fill("Acme AI");
  await page.locator('input[name="provider-base-url"]').fill("https://llm.acme.example/v2");
  await page.locator('input[name="provider-base-url"]').press("Enter");
  await expect(page.getByRole("status")).toHaveText("Provider saved.");
  await expect(row).toContainText("Acme AI");
  await expect(row).toContainText("https://llm.acme.example/v2");
  await expect(page.locator('input[name="provider-name"]')).toHaveCount(0);

  // An empty name is refused on its field; nothing changes.
  await row.getByRole("button", { name: "Edit" }).click();
  await page.locator('input[name="provider-name"]').evaluate((el) => el.removeAttribute("required"));
  await page.locator('input[name="provider-name"]').fill(" ");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.locator('[data-field="name"]')).toContainText("name must be 1–100 characters");
  await page.reload();
  await hydrated(page);
  await expect(page.locator(`tr[data-provider="${key}"]`)).toContainText("Acme AI");
});
