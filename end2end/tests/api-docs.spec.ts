import { expect, test } from "@playwright/test";

// `/api/docs`: Swagger UI, from files the server itself serves, renders the OpenAPI
// document: the inference and management operations are listed and one opens.
test("the API docs page renders the OpenAPI document from local files", async ({ page, baseURL }) => {
  const origin = new URL(baseURL!).origin;
  const foreign: string[] = [];
  page.on("request", (req) => {
    const url = new URL(req.url());
    if (url.protocol.startsWith("http") && url.origin !== origin) {
      foreign.push(req.url());
    }
  });
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));

  await page.goto("/api/docs/");
  await expect(page.getByRole("heading", { name: /LangMart/ })).toBeVisible();
  // (Swagger UI writes paths with zero-width spaces for line breaks; `data-path` is exact.)
  const chat = page.locator('[data-path="/v1/chat/completions"]').first();
  await expect(chat).toBeVisible();
  await expect(page.locator('[data-path="/api/keys"]').first()).toBeVisible();
  await chat.click();
  await expect(page.getByText("x-langmart-connection").first()).toBeVisible();
  expect(foreign, "requests to other origins").toEqual([]);
  expect(errors).toEqual([]);
});
