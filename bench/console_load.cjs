// Loads /login in Chromium under network emulation and reports bytes received and the
// time to paint and to hydration (the app marks <body data-hydrated>), cold then warm.
// Usage: node console_load.cjs BEFORE_URL AFTER_URL MBIT
const path = require("path");
const { chromium } = require(path.join(__dirname, "../end2end/node_modules/@playwright/test"));

const [before, after, mbit] = [process.argv[2], process.argv[3], Number(process.argv[4] || 10)];
const RUNS = Number(process.env.RUNS || 3);

async function load(context, url) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: 40,
    downloadThroughput: (mbit * 1e6) / 8,
    uploadThroughput: (mbit * 0.5 * 1e6) / 8,
  });
  let bytes = 0;
  cdp.on("Network.loadingFinished", (e) => (bytes += e.encodedDataLength));
  const started = Date.now();
  await page.goto(`${url}/login`, { waitUntil: "commit" });
  await page.waitForSelector("h1", { state: "attached" });
  const painted = Date.now() - started;
  await page.waitForSelector("body[data-hydrated=true]", { state: "attached", timeout: 120_000 });
  const interactive = Date.now() - started;
  await page.close();
  return { bytes, painted, interactive };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu"],
  });
  console.log(`${mbit} Mbit/s, 40 ms latency; median of ${RUNS} runs each`);
  console.log("served as        load   bytes received   painted ms   interactive ms");
  for (const [name, url] of [["round 1 (plain)", before], ["now (br, hashed)", after]]) {
    const cold = [], warm = [];
    for (let i = 0; i < RUNS; i++) {
      const context = await browser.newContext();
      cold.push(await load(context, url));
      warm.push(await load(context, url));
      await context.close();
    }
    for (const [kind, runs] of [["cold", cold], ["warm", warm]]) {
      console.log(
        `${name.padEnd(17)}${kind.padEnd(7)}${String(median(runs.map((r) => r.bytes))).padStart(14)}` +
          `${String(median(runs.map((r) => r.painted))).padStart(13)}${String(median(runs.map((r) => r.interactive))).padStart(17)}`,
      );
    }
  }
  await browser.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
