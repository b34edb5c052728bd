import { expect, test } from "@playwright/test";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hydrated, signUp } from "./helpers";

test("a self-hosted gateway: create it, run its agent, watch it connect and its connection appear", async ({ page, baseURL }) => {
  const bin = process.env.LANGMART_BIN;
  test.skip(!bin, "LANGMART_BIN is not set (end2end/run.sh sets it)");
  const mock = process.env.MOCK_PROVIDER_URL!;
  await signUp(page, "gw");
  await page.goto("/connections");
  await hydrated(page);
  await page.getByRole("link", { name: "Gateways" }).click();
  await expect(page.getByTestId("gateways-empty")).toBeVisible();

  await page.getByTestId("gateway-name").fill("lab");
  await page.getByRole("button", { name: "Create gateway" }).click();
  const token = (await page.getByTestId("gateway-token").textContent())!.trim();
  expect(token).toMatch(/^lmg_/);
  const card = page.getByTestId("gateway");
  await expect(card.getByTestId("gateway-status")).toHaveText("disconnected");
  await expect(card.getByTestId("install-command")).toContainText("langmart gateway --server http://127.0.0.1:");

  // The agent, next to "private" models (here: the mock provider).
  const dir = mkdtempSync(join(tmpdir(), "lm-gw-"));
  const config = join(dir, "gateway.toml");
  writeFileSync(config, `[[upstream]]\nname = "gpu-box"\nprovider = "ollama"\nurl = "${mock}"\napi_key = "sk-e2e-gateway-agent"\n`);
  const agent = spawn(bin!, ["gateway", "--server", baseURL!, "--config", config], {
    env: { ...process.env, LANGMART_GATEWAY_TOKEN: token },
    stdio: "ignore",
  });
  try {
    await expect(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      await expect(card.getByTestId("gateway-status")).toHaveText("connected", { timeout: 1000 });
      await expect(card.getByTestId("gateway-connection")).toContainText("active", { timeout: 1000 });
    }).toPass({ timeout: 15000 });
    await expect(card.getByTestId("agent")).toHaveCount(1);
    await expect(card.getByTestId("gateway-connection")).toContainText("gpu-box (lab)");
    await expect(card.getByTestId("gateway-events")).toContainText("connected");
    // The token is not shown again once the page is read afresh.
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId("gateway-token")).toHaveCount(0);
  } finally {
    agent.kill("SIGKILL");
  }
  await expect(async () => {
    await page.getByRole("button", { name: "Refresh" }).click();
    await expect(page.getByTestId("gateway-status")).toHaveText("disconnected", { timeout: 1000 });
  }).toPass({ timeout: 15000 });
  await expect(page.getByTestId("no-agents")).toBeVisible();
  await expect(page.getByTestId("gateway-events")).toContainText("disconnected");
});
