import { expect, Page, test } from "@playwright/test";
import { hydrated, unique } from "./helpers";

test("a person signs up, creates an organization and an API key that validates", async ({ page, request }) => {
  const handle = unique("ada");
  const email = `${handle}@example.com`;
  const password = "correct horse battery";

  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Handle").fill(handle);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();

  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("current-handle")).toHaveText(`@${handle}`);
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await hydrated(page);

  // Client-side navigation from here on: the marker survives only if nothing reloads.
  await page.evaluate(() => ((window as any).__noReload = true));

  await page.getByRole("link", { name: "Settings" }).click();
  await expect(page.getByTestId("account-handle")).toHaveText(handle);
  await page.getByRole("link", { name: "Organizations" }).click();
  await expect(page).toHaveURL(/\/settings\/organizations$/);

  const orgHandle = unique("acme");
  await page.getByLabel("Name").fill("Acme Inc.");
  await page.getByLabel("Handle").fill(orgHandle);
  await page.getByRole("button", { name: "Create", exact: true }).click();
  const orgRow = page.getByTestId("orgs").getByRole("row", { name: new RegExp(orgHandle) });
  await expect(orgRow).toContainText("admin");
  await orgRow.getByRole("button", { name: "Members" }).click();
  await expect(page.getByTestId("members")).toContainText(`@${handle}`);

  await page.getByRole("link", { name: "API Keys" }).click();
  await page.getByLabel("Name").fill("e2e");
  await page.getByLabel("Allowed models").fill("openai/*");
  await page.getByLabel("Budget (USD)").fill("5");
  await page.getByRole("button", { name: "Create key" }).click();
  const shown = page.getByTestId("new-api-key");
  await expect(shown).toHaveText(/^sk-langmart-[A-Za-z0-9]{43}$/);
  const key = (await shown.textContent())!.trim();
  await expect(page.getByTestId("api-keys")).toContainText("e2e");
  // Its limits and its spend against the budget are in its row.
  const keyRow = page.getByTestId("api-keys").getByRole("row", { name: /e2e/ });
  await expect(keyRow).toContainText("openai/*");
  await expect(keyRow.getByTestId("key-spend")).toContainText("$0.0000 of $5 / month");

  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);

  const ok = await request.get("/v1/auth/validate", { headers: { Authorization: `Bearer ${key}` } });
  expect(ok.status()).toBe(200);
  const body = await ok.json();
  expect(body.valid).toBe(true);
  expect(body.user.email).toBe(email);
  expect(body.user.handle).toBe(handle);

  // Revoking in the console makes the key fail at once.
  page.once("dialog", async (dialog) => {
    expect(dialog.message()).toContain('Revoke the key "e2e"?');
    await dialog.accept();
  });
  await page.getByTestId("api-keys").getByRole("row", { name: /e2e/ }).getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByTestId("api-keys").getByRole("row", { name: /e2e/ })).toContainText("revoked");
  const revoked = await request.get("/v1/auth/validate", { headers: { Authorization: `Bearer ${key}` } });
  expect(revoked.status()).toBe(401);
  expect((await revoked.json()).error.code).toBe("GATEWAY1_AUTH_001");
});

test("log in shows the server's error, then logs in and out", async ({ page }) => {
  const handle = unique("bob");
  const email = `${handle}@example.com`;
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Handle").fill(handle);
  await page.getByLabel("Password").fill("short");
  // The browser's own minlength check would stop a too-short password; remove it to see the server's rule.
  await page.getByLabel("Password").evaluate((el) => el.removeAttribute("minlength"));
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator('[data-field="password"]')).toContainText("at least 10 characters");

  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("the wrong password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByRole("alert")).toContainText("Wrong email or password");

  await page.getByLabel("Password").fill("a long enough password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  await expect(page.getByTestId("current-handle")).toHaveText(`@${handle}`);
});

test("signed-out visitors are sent to the log-in page", async ({ page }) => {
  await page.goto("/settings/keys");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Log in to LangMart" })).toBeVisible();
});

test("the console fits a 400px-wide screen", async ({ page }) => {
  await page.setViewportSize({ width: 400, height: 800 });
  await page.goto("/signup");
  await hydrated(page);
  const handle = unique("cat");
  await page.getByLabel("Email").fill(`${handle}@example.com`);
  await page.getByLabel("Handle").fill(handle);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/dashboard$/);
  for (const path of ["/dashboard", "/connections", "/collections", "/logs", "/playground", "/settings", "/settings/keys", "/settings/organizations"]) {
    await page.goto(path);
    await hydrated(page);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(overflow, `${path} scrolls sideways`).toBeLessThanOrEqual(400);
  }
});
