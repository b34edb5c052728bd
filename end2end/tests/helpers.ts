import { expect, Page } from "@playwright/test";

/** Waits until the WASM bundle has hydrated the page (the app marks <body>). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
}

export function unique(prefix: string) {
  return `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}

/** Signs up a new member through the console and waits on the signed-in landing page. */
export async function signUp(page: Page, prefix = "u"): Promise<string> {
  const handle = unique(prefix);
  await page.goto("/signup");
  await hydrated(page);
  await page.getByLabel("Email").fill(`${handle}@example.com`);
  await page.getByLabel("Handle").fill(handle);
  await page.getByLabel("Password").fill("correct horse battery");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page).toHaveURL(/\/connections$/);
  await hydrated(page);
  return handle;
}

/** The platform admin end2end/run.sh creates from the shell. */
export const OPERATOR = { email: "operator@example.com", password: "correct horse battery" };

export async function logIn(page: Page, email: string, password: string) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/connections$/);
  await hydrated(page);
}

/** Collects what would tell a user the page broke: uncaught errors (a hydration panic ends
 * in `RuntimeError: unreachable`) and errors the page logs. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`${page.url()}: console: ${m.text()}`);
  });
  return errors;
}
