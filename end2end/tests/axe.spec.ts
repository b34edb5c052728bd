import AxeBuilder from "@axe-core/playwright";
import { expect, Page, test } from "@playwright/test";
import { CONSOLE_PAGES, hydrated, logIn, OPERATOR, signUp } from "./helpers";

// axe (WCAG 2.1 A and AA rules) on every page: no serious or critical violation.
const SIGNED_IN = CONSOLE_PAGES;

async function scan(page: Page, path: string): Promise<string[]> {
  await page.goto(path);
  await hydrated(page);
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${path}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}

test("signed-out pages have no serious accessibility violations", async ({ page }) => {
  const found: string[] = [];
  for (const path of ["/login", "/signup"]) found.push(...(await scan(page, path)));
  expect(found).toEqual([]);
});

test("every page has no serious accessibility violations, as an admin", async ({ page }) => {
  await logIn(page, OPERATOR.email, OPERATOR.password);
  const found: string[] = [];
  for (const path of SIGNED_IN) found.push(...(await scan(page, path)));
  expect(found).toEqual([]);
});

test("every page has no serious accessibility violations, as a member", async ({ page }) => {
  await signUp(page, "ax");
  const found: string[] = [];
  for (const path of SIGNED_IN) found.push(...(await scan(page, path)));
  expect(found).toEqual([]);
});
