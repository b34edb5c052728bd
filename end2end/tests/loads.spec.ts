import { expect, Page, test } from "@playwright/test";
import { CONSOLE_PAGES, hydrated, logIn, OPERATOR, signUp, watchErrors } from "./helpers";

// Every page, loaded directly (not navigated to) 20 times, as a platform admin and as a
// member: the server's render and the browser's hydration must agree every time.
const PAGES = ["/", ...CONSOLE_PAGES];
const LOADS = Number(process.env.LOADS_PER_PAGE ?? 20);

async function loadEveryPage(page: Page, errors: string[]) {
  for (const path of PAGES) {
    for (let i = 0; i < LOADS; i++) {
      await page.goto(path);
      await hydrated(page);
      await expect(page.locator("main")).toBeVisible();
    }
    expect(errors, `errors while loading ${path}`).toEqual([]);
  }
}

test("every page loads directly without a page error, as an admin", async ({ page }) => {
  test.setTimeout(600_000);
  const errors = watchErrors(page);
  await logIn(page, OPERATOR.email, OPERATOR.password);
  await loadEveryPage(page, errors);
  // The admin-only tabs are there on every load.
  await page.goto("/settings/providers");
  await hydrated(page);
  await expect(page.getByRole("link", { name: "Providers" })).toBeVisible();
  await expect(page.getByTestId("providers")).toBeVisible();
});

test("every page loads directly without a page error, as a member, who never sees admin controls", async ({ page }) => {
  test.setTimeout(600_000);
  const errors = watchErrors(page);
  await signUp(page, "ld");
  await loadEveryPage(page, errors);
  for (const path of ["/settings/providers", "/settings/users"]) {
    await page.goto(path);
    await hydrated(page);
    await expect(page.getByRole("link", { name: "Providers" })).toHaveCount(0);
    await expect(page.getByTestId("admins-only")).toBeVisible();
    await expect(page.locator("main button")).toHaveCount(0);
  }
});
