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
  await expect(page).toHaveURL(/\/dashboard$/);
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
  await expect(page).toHaveURL(/\/dashboard$/);
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

/** Creates and tests a connection through the console's own server functions. */
export async function connect(page: Page, provider: string, name: string, endpoint: string): Promise<string> {
  return page.evaluate(
    async ({ provider, name, endpoint }) => {
      const created = await fetch("/api/fn/create_connection", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          req: { provider, name, api_key: "sk-e2e-collections-0001", endpoint_url: endpoint, max_retries: 0 },
        }),
      });
      const conn = await created.json();
      const tested = await fetch("/api/fn/test_connection", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: `id=${encodeURIComponent(conn.id)}`,
      });
      if (!(await tested.json()).success) throw new Error(`test of ${name} failed`);
      return conn.id as string;
    },
    { provider, name, endpoint },
  );
}

/** Makes an API key (inference scope) through the console's server function. */
export async function apiKey(page: Page, name: string): Promise<string> {
  return page.evaluate(async (name) => {
    const res = await fetch("/api/fn/create_api_key", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `name=${encodeURIComponent(name)}&inference=on`,
    });
    if (!res.ok) throw new Error(`create_api_key: ${res.status} ${await res.text()}`);
    return (await res.json()).key as string;
  }, name);
}

/** Every page of the signed-in console. */
export const CONSOLE_PAGES = [
  "/dashboard",
  "/connections",
  "/gateways",
  "/models",
  "/collections",
  "/logs",
  "/playground",
  "/notifications",
  "/settings",
  "/settings/keys",
  "/settings/organizations",
  "/settings/users",
  "/settings/providers",
];
