import { expect, test } from "@playwright/test";
import { hydrated, logIn, OPERATOR, signUp } from "./helpers";

test("an organization's admin sets its budgets, and its members see them", async ({ page }) => {
  const handle = await signUp(page, "bud");
  const org = `${handle}-org`;
  await page.evaluate(async (org) => {
    const made = await fetch("/api/fn/create_org", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `name=Budgeted&handle=${encodeURIComponent(org)}`,
    });
    if (!made.ok) throw new Error(`create_org: ${made.status} ${await made.text()}`);
  }, org);

  await page.goto("/settings/organizations");
  await hydrated(page);
  await page.getByTestId("orgs").getByRole("row", { name: new RegExp(org) }).getByRole("button", { name: "Members" }).click();
  const card = page.getByTestId("org-budgets");
  await card.getByLabel("Organization, USD").fill("10");
  await card.getByLabel("Each member, USD").fill("two");
  await card.getByRole("button", { name: "Save budgets" }).click();
  await expect(card).toContainText("member_usd must be an amount in USD");
  await card.getByLabel("Each member, USD").fill("2");
  await card.locator("select[name=member_period]").selectOption("day");
  await card.getByRole("button", { name: "Save budgets" }).click();
  await expect(card.getByTestId("toast")).toHaveText("Budgets saved.");
  await expect(card.getByTestId("org-spend")).toContainText("$0.0000 of $10 / month");
  // Each member's spend against the budget per member.
  await expect(card.locator(`tr[data-member="${handle}"]`)).toContainText("$0.0000 of $2 / day");

  // Kept: a fresh load shows them, and the person they limit sees both.
  await page.goto("/settings/keys");
  await hydrated(page);
  const mine = page.getByTestId("my-budgets");
  await expect(mine.locator("tr[data-budget=organization]")).toContainText(`@${org} in all`);
  await expect(mine.locator("tr[data-budget=organization]")).toContainText("$0.0000 of $10 / month");
  await expect(mine.locator("tr[data-budget=member]")).toContainText("$0.0000 of $2 / day");

  await page.goto("/settings/organizations");
  await hydrated(page);
  await page.getByTestId("orgs").getByRole("row", { name: new RegExp(org) }).getByRole("button", { name: "Members" }).click();
  await expect(page.getByTestId("org-budgets").getByLabel("Each member, USD")).toHaveValue("2");
  // Emptied: no budget.
  await page.getByTestId("org-budgets").getByLabel("Organization, USD").fill("");
  await page.getByTestId("org-budgets").getByLabel("Each member, USD").fill("");
  await page.getByTestId("org-budgets").getByRole("button", { name: "Save budgets" }).click();
  await expect(page.getByTestId("org-budgets").getByTestId("toast")).toHaveText("Budgets saved.");
  await page.goto("/settings/keys");
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Create an API key" })).toBeVisible();
  await expect(page.getByTestId("my-budgets")).toHaveCount(0);
});

test("a platform admin sets a user's budget, which the user sees", async ({ page, browser }) => {
  const handle = await signUp(page, "ubud");
  const admin = await browser.newPage();
  await logIn(admin, OPERATOR.email, OPERATOR.password);
  await admin.goto("/settings/users");
  await hydrated(admin);
  const row = admin.locator(`tr[data-user="${handle}"]`);
  await row.getByLabel(`Budget of @${handle}`).fill("3");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(admin.locator(`tr[data-user="${handle}"]`).getByLabel(`Budget of @${handle}`)).toHaveValue("3");

  await page.goto("/settings/keys");
  await hydrated(page);
  const mine = page.getByTestId("my-budgets").locator("tr[data-budget=user]");
  await expect(mine).toContainText("yours (set by a platform admin)");
  await expect(mine).toContainText("$0.0000 of $3 / month");
  await admin.close();
});
