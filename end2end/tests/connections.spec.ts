import { expect, Page, test } from "@playwright/test";
import { hydrated, unique, signUp } from "./helpers";

test("a person creates, tests, rotates, disables and deletes a connection", async ({ page }) => {
  const mock = process.env.MOCK_PROVIDER_URL!;
  await signUp(page, "cx");
  await page.getByRole("link", { name: "Connections" }).click();

  await page.getByRole("button", { name: "Add connection" }).click();
  const form = page.getByTestId("create-connection");
  await form.getByLabel("Provider").selectOption("openai");
  await form.getByLabel("API key").fill("sk-e2e-first-key-000111");
  await form.getByLabel("Base URL").fill(mock);
  await form.getByLabel("Name", { exact: true }).fill("Mock OpenAI");

  // A wrong key fails the pre-save test with the provider's message.
  await form.getByLabel("API key").fill("sk-wrong-000");
  await form.getByRole("button", { name: "Test" }).click();
  await expect(form.getByTestId("draft-test")).toContainText("Incorrect API key provided");
  await form.getByLabel("API key").fill("sk-e2e-first-key-000111");
  await form.getByRole("button", { name: "Test" }).click();
  await expect(form.getByTestId("draft-test")).toContainText("3 models");
  await form.getByRole("button", { name: "Save connection" }).click();

  const row = page.locator('tr[data-connection="Mock OpenAI"]');
  await expect(row).toBeVisible();
  await expect(row).toContainText("…0111");
  await row.getByRole("button", { name: "Test" }).click();
  await expect(page.getByTestId("test-result")).toContainText("Test passed");
  await expect(row.locator(".chip.green")).toHaveText("active");
  await expect(row.getByTestId("model-count")).toHaveText("3");

  // Rotate the key: the mask changes, the connection and its models stay.
  await row.getByRole("button", { name: "Update API key" }).click();
  await page.getByLabel("New API key").fill("sk-e2e-rotated-key-000222");
  await page.getByRole("button", { name: "Update", exact: true }).click();
  await expect(row).toContainText("…0222");
  await expect(row.getByTestId("model-count")).toHaveText("3");

  // Disable, then see it grey.
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(row.locator(".chip.grey")).toHaveText("inactive");

  // The detail view shows the history and the audit trail.
  await row.getByRole("link", { name: "Mock OpenAI" }).click();
  await expect(page.getByTestId("tests")).toContainText("ok");
  await expect(page.getByTestId("audit")).toContainText("update_key");
  await expect(page.getByTestId("audit")).toContainText("disable");
  await expect(page.locator("svg.chart")).toBeVisible();

  // A limit that is not a number is an error on its field; nothing is saved.
  const edit = page.getByTestId("edit-connection");
  await edit.getByLabel("Requests per minute").fill("60");
  await edit.getByLabel("Requests per minute").press("Enter");
  await expect(edit.getByRole("status")).toHaveText("Saved.");
  // The page shows the saved settings (the form is drawn again from them) before we type.
  await expect(page.locator("dl.facts")).toContainText("60 rpm");
  await edit.getByLabel("Requests per minute").fill("two");
  await edit.getByLabel("Priority").fill("high");
  await edit.getByRole("button", { name: "Save settings" }).click();
  await expect(edit.locator('[data-field="rate_limit_rpm"]')).toHaveText('"two" is not a whole number.');
  await expect(edit.locator('[data-field="prefer_score"]')).toHaveText('"high" is not a whole number.');
  await expect(edit.getByRole("status")).toHaveCount(0);
  await page.reload();
  await hydrated(page);
  await expect(page.locator("dl.facts")).toContainText("60 rpm");
  await expect(page.getByTestId("edit-connection").getByLabel("Requests per minute")).toHaveValue("60");

  // A collection routes through it: the detail, the list and the delete dialog say so.
  const collection = await page.evaluate(async () => {
    const res = await fetch("/api/fn/save_collection", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ id: null, input: { name: "everyday", strategy: "fallback", models: ["openai/mock-large"] } }),
    });
    return (await res.json()).reference as string;
  });
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("used-by")).toHaveText(collection);
  await page.getByRole("link", { name: "← Connections" }).click();
  await expect(page.locator('tr[data-connection="Mock OpenAI"]').getByTestId("used-by")).toHaveText(collection);

  // Delete, confirming the dialog that names what goes with it.
  page.once("dialog", async (dialog) => {
    expect(dialog.message()).toContain("3 models");
    expect(dialog.message()).toContain(`${collection} routes through it`);
    await dialog.accept();
  });
  await page.locator('tr[data-connection="Mock OpenAI"]').getByRole("button", { name: "Delete" }).click();
  await expect(page.locator('tr[data-connection="Mock OpenAI"]')).toHaveCount(0);
  await expect(page.getByText("No connections yet")).toBeVisible();
});

test("the create form shows the server's validation errors", async ({ page }) => {
  await signUp(page, "cx");
  await page.getByRole("link", { name: "Connections" }).click();
  await page.getByRole("button", { name: "Add connection" }).click();
  const form = page.getByTestId("create-connection");
  await form.getByLabel("Provider").selectOption("bedrock");
  await form.getByLabel("Name", { exact: true }).fill("aws");
  await form.getByLabel("Access key ID").fill("AKIAIOSFODNN7EXAMPLE");
  await form.getByRole("button", { name: "Save connection" }).click();
  await expect(form.getByRole("alert").first()).toContainText("secret_access_key");
});
