import { readFileSync } from "node:fs";
import { expect, Page, test } from "@playwright/test";
import { connect, hydrated, unique, signUp } from "./helpers";

test("a person builds a fallback collection and a call goes to the second member when the first fails", async ({ page }) => {
  const mock = process.env.MOCK_PROVIDER_URL!;
  const down = mock.replace(/\/v1$/, "/fail/v1");
  await signUp(page, "co");
  const failing = await connect(page, "openai", "Down OpenAI", down);
  const healthy = await connect(page, "groq", "Healthy Groq", mock);

  await page.goto("/collections");
  await hydrated(page);
  await page.getByRole("button", { name: "Create collection" }).click();
  const form = page.getByTestId("collection-form");
  const name = unique("resilient-");
  await form.getByLabel("Name", { exact: true }).fill(name);

  // Saving without members shows the server's message next to the members.
  await form.getByRole("button", { name: "Save collection" }).click();
  await expect(form.locator('.field-error[data-field="models"]')).toContainText("Add at least one model");

  // Add both members from the searchable list, healthy one first ...
  await form.getByLabel("Find a model you can reach").fill("groq/mock-large");
  await form.getByRole("button", { name: "Add groq/mock-large", exact: true }).click();
  await form.getByLabel("Find a model you can reach").fill("openai/mock-large");
  await form.getByRole("button", { name: "Add openai/mock-large", exact: true }).click();
  const members = form.getByTestId("member-list").locator("li");
  await expect(members).toHaveCount(2);
  await expect(members.nth(0)).toHaveAttribute("data-member", "groq/mock-large");
  // ... then reorder so the failing one is tried first, and pick fallback.
  await form.getByRole("button", { name: "Move openai/mock-large up" }).click();
  await expect(members.nth(0)).toHaveAttribute("data-member", "openai/mock-large");
  await expect(members.nth(1)).toHaveAttribute("data-member", "groq/mock-large");
  await form.getByLabel("Strategy").selectOption("fallback");
  await expect(form.getByTestId("strategy-explanation")).toContainText("in the order given");
  await form.getByRole("button", { name: "Save collection" }).click();

  const row = page.locator(`tr[data-collection="${name}"]`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId("member-count")).toHaveText("2");
  await expect(row).toContainText("fallback");

  // Try it: the explain output lists the failing member first, then the test prompt is
  // answered by the second member's connection.
  const panel = page.getByTestId("try-panel");
  await row.getByRole("button", { name: "Try" }).click();
  await expect(panel.getByTestId("explain")).toContainText(failing);
  await expect(panel.getByTestId("explain").locator("tbody tr").first()).toContainText("openai/mock-large");
  await panel.getByRole("button", { name: "Send test prompt" }).click();
  const result = panel.getByTestId("try-result");
  await expect(result).toContainText(`served by ${healthy}`);
  await expect(result).toContainText("Hello from the mock.");

  // The Request Logs page shows the call: collection resolution, the healthy connection,
  // and the failed first attempt.
  await page.goto("/logs");
  await hydrated(page);
  await page.getByLabel("Resolution").selectOption("collection");
  const logRow = page.getByTestId("logs").locator("tbody tr").first();
  await expect(logRow.getByTestId("log-connection")).toHaveText("Healthy Groq");
  await expect(logRow).toContainText("200");
  await expect(logRow.locator("td").first()).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  // A row opens from the keyboard too.
  await logRow.focus();
  await page.keyboard.press("Enter");
  await expect(logRow).toHaveAttribute("aria-expanded", "true");
  await expect(page.locator("ol.attempts")).toContainText(`${failing} (openai) — http_503`);
  await expect(page.locator("ol.attempts")).toContainText(`${healthy} (groq) — ok`);
  await expect(page.getByTestId("log-detail")).toContainText("Healthy Groq · groq");

  // A substring of the model filters; the export holds the filtered rows.
  await page.getByLabel("Model contains").fill("RESILIENT");
  await page.getByLabel("Model contains").press("Enter");
  await expect(page.getByTestId("logs").locator("tbody tr").first()).toContainText("collection/");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
  expect(download.suggestedFilename()).toMatch(/^langmart-logs-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync((await download.path())!, "utf8").trim().split("\n");
  expect(csv[0]).toBe("time,request_id,endpoint,model,resolution,collection,connection_id,connection,provider,upstream_model,status,error_code,latency_ms,ttft_ms,prompt_tokens,completion_tokens,stream,cost_usd,cost_basis");
  expect(csv.length).toBeGreaterThan(1);
  for (const line of csv.slice(1)) expect(line.toLowerCase()).toContain("resilient");
  expect(csv.slice(1).some((l) => l.includes("Healthy Groq"))).toBe(true);
});

test("a person maps a coding agent's model name to a model with an alias, and a call by that name routes there", async ({ page }) => {
  const mock = process.env.MOCK_PROVIDER_URL!;
  await signUp(page, "co");
  const groq = await connect(page, "groq", "Groq for agents", mock);

  await page.goto("/collections");
  await hydrated(page);
  const aliases = page.getByTestId("aliases");
  await expect(aliases).toContainText("No aliases yet.");
  // A target that is not a model reference is refused next to the field.
  await aliases.getByLabel("Name or pattern").fill("claude-*");
  await aliases.getByLabel("Routes to").fill("groq/");
  await aliases.getByRole("button", { name: "Add alias" }).click();
  await expect(aliases.locator('.field-error[data-field="target"]')).toContainText("names no model");
  await aliases.getByLabel("Routes to").fill("groq/mock-large");
  await aliases.getByLabel("Description (optional)").fill("Claude Code's models");
  await aliases.getByLabel("Description (optional)").press("Enter"); // a real form: Enter submits
  const row = aliases.locator('tr[data-alias="claude-*"]');
  await expect(row).toContainText("groq/mock-large");
  await expect(aliases.getByLabel("Name or pattern")).toHaveValue("");

  // The Try panel explains a name the alias covers: resolved through the alias.
  const panel = page.getByTestId("try-panel");
  await panel.getByLabel("Or any model string").fill("claude-opus-4-8");
  await panel.getByLabel("Or any model string").press("Tab");
  await expect(panel.getByTestId("explain")).toContainText("Resolved by alias");
  await expect(panel.getByTestId("explain")).toContainText("claude-* → groq/mock-large");
  await expect(panel.getByTestId("explain")).toContainText(groq);

  // Deleting asks first, then the alias is gone.
  page.once("dialog", (d) => d.accept());
  await row.getByRole("button", { name: "Delete" }).click();
  await expect(aliases).toContainText("No aliases yet.");
});
