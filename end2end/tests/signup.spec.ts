import { readFileSync } from "node:fs";
import { hydrated } from "./helpers";
import { expect, Page, test } from "@playwright/test";

async function fillAccount(page: Page, email: string, handle: string) {
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Handle").fill(handle);
  await page.getByLabel("Password").fill("correct horse battery");
}

// A fresh install (started by run.sh with the default `invite` policy): nobody becomes
// its admin without the setup token from its log; the admin then invites someone with a
// single-use link.
test("a fresh install is set up with the logged token, then admits people by invite link", async ({ browser }) => {
  const base = process.env.FRESH_BASE_URL!;
  const logged = /setup token (setup-[A-Za-z0-9]+)/.exec(readFileSync(process.env.FRESH_LOG!, "utf8"));
  expect(logged, "the server printed a setup token").not.toBeNull();
  const token = logged![1];

  const owner = await (await browser.newContext()).newPage();
  await owner.goto(`${base}/login`);
  await hydrated(owner);
  await owner.getByRole("link", { name: "set up this LangMart" }).click();
  await expect(owner.getByRole("heading", { name: "Set up LangMart" })).toBeVisible();
  await hydrated(owner);
  await owner.getByLabel("Setup token").fill("setup-guessed");
  await fillAccount(owner, "owner@example.com", "owner");
  await owner.getByRole("button", { name: "Create account" }).click();
  await expect(owner.getByText("This setup token is not valid")).toBeVisible();
  await owner.getByLabel("Setup token").fill(token);
  await owner.getByRole("button", { name: "Create account" }).click();
  await expect(owner).toHaveURL(/\/dashboard$/);

  await owner.getByRole("link", { name: "Settings" }).click();
  await owner.getByRole("link", { name: "Users" }).click();
  await expect(owner.getByTestId("users")).toContainText("platform admin");
  await owner.getByLabel("For", { exact: true }).fill("Grace");
  await owner.getByRole("button", { name: "Create invite link" }).click();
  const shown = owner.getByTestId("new-invite-link");
  await expect(shown).toHaveText(new RegExp(`^${base}/signup\\?invite=inv-[A-Za-z0-9]+$`));
  const link = (await shown.textContent())!.trim();
  await expect(owner.getByTestId("signup-invites")).toContainText("unused");

  // Without the link, a visitor is asked for one; with it, they get an ordinary account.
  const stranger = await (await browser.newContext()).newPage();
  await stranger.goto(`${base}/signup`);
  await hydrated(stranger);
  await expect(stranger.getByLabel("Invite link")).toBeVisible();
  await expect(stranger.getByLabel("Setup token")).toHaveCount(0);

  const grace = await (await browser.newContext()).newPage();
  await grace.goto(link);
  await hydrated(grace);
  await expect(grace.getByText("You were invited")).toBeVisible();
  await fillAccount(grace, "grace@example.com", "grace");
  await grace.getByRole("button", { name: "Create account" }).click();
  await expect(grace).toHaveURL(/\/dashboard$/);
  await grace.getByRole("link", { name: "Settings" }).click();
  await expect(grace.getByRole("link", { name: "Users" })).toHaveCount(0);

  // The link worked once.
  await stranger.goto(link);
  await hydrated(stranger);
  await fillAccount(stranger, "mallory@example.com", "mallory");
  await stranger.getByRole("button", { name: "Create account" }).click();
  await expect(stranger.getByText("This invite link is not valid")).toBeVisible();

  await owner.reload();
  await hydrated(owner);
  await expect(owner.getByTestId("signup-invites")).toContainText("used by grace@example.com");
});
