// Analytics: the manager's home shows the dashboard with the fixture's
// numbers, a task completed elsewhere (through the API, as another tab
// would) raises the completion counter live, and a chart's CSV downloads
// its table. The admin's and the client's views are shown too. Axe runs
// in every screenshot().
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  ADMIN_PASSWORD,
  apiClient,
  launchBrowser,
  screenshot,
  screenshotDir,
  signIn,
  startServer,
} from "./harness.mjs";

let server, browser, api, adminToken, acme, mia, tasks;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  api = apiClient(server.base);
  adminToken = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  mia = await api.createUser(adminToken, "mia", "manager");
  acme = await api.createUser(adminToken, "acme", "client");
  const globex = await api.createUser(adminToken, "globex", "client");
  await api.call("PUT", `/api/admin/managers/${mia.id}/clients/${acme.id}`, adminToken);
  // Four tasks of Acme's today, one of them completed; Globex's task is not
  // Mia's to count.
  tasks = [];
  for (const title of ["Invoice", "Contract", "Shipment", "Audit"])
    tasks.push(
      await api.call("POST", "/api/tasks", adminToken, {
        clientId: acme.id,
        title,
        priority: "high",
        assigneeIds: [acme.id],
      }),
    );
  await api.call("POST", "/api/tasks", adminToken, { clientId: globex.id, title: "Globex secret" });
  tasks[0] = await complete(tasks[0]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** New → In Progress → Completed (the default transitions). */
async function complete(task) {
  let t = await api.call("PATCH", `/api/tasks/${task.id}`, adminToken, {
    version: task.version,
    statusId: 2,
  });
  t = await api.call("PATCH", `/api/tasks/${task.id}`, adminToken, {
    version: t.version,
    statusId: 4,
  });
  return t;
}

async function newPage() {
  // A fixed zone, so "today" in the CSV is the server's UTC day.
  const context = await browser.newContext({
    viewport: { width: 1440, height: 1400 },
    timezoneId: "UTC",
    acceptDownloads: true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

async function eventually(check, ms = 8000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const kpi = (page, id) => page.getByTestId(`kpi-${id}`);

describe("analytics", () => {
  test("the manager's home shows the fixture's numbers and follows completions live", async () => {
    const page = await newPage();
    await signIn(page, server.base, "mia", "password-1234");
    await page.waitForURL(/\/manager$/);
    const started = Date.now();
    await eventually(async () => assert.equal(await kpi(page, "created").textContent(), "4"));
    const renderMs = Date.now() - started;
    console.log(`dashboard counters shown ${renderMs} ms after sign-in landed`);
    assert.equal(await kpi(page, "completed").textContent(), "1");
    assert.equal(await kpi(page, "completion-rate").textContent(), "25 %");
    assert.equal(await kpi(page, "open").textContent(), "3");
    // The client list is still there under the dashboard.
    await page.getByTestId("client-acme").waitFor();

    // The table behind the throughput chart names today's bucket.
    const today = new Date().toISOString().slice(0, 10);
    const card = page.getByTestId("chart-tasks-throughput");
    await card.getByText("Table").click();
    await card.getByRole("cell", { name: today }).waitFor();
    await screenshot(page, "analytics-manager");
    // The SLA rates' axis and the cycle-time scatter's dates, close up: a
    // rate axis reads up to "100 %" unclipped, the scatter's ticks are days.
    mkdirSync(screenshotDir, { recursive: true });
    for (const slug of ["tasks-sla", "tasks-cycle-time"]) {
      const chart = page.getByTestId(`chart-${slug}`);
      await chart.locator("[data-drawn]").first().waitFor();
      await chart.screenshot({ path: path.join(screenshotDir, `analytics-manager-${slug}.png`) });
    }

    // Completed elsewhere: the counter follows without a reload.
    const marker = await page.evaluate(() => (window.__noReload = true));
    assert.equal(marker, true);
    tasks[1] = await complete(tasks[1]);
    await eventually(async () => assert.equal(await kpi(page, "completed").textContent(), "2"));
    assert.equal(await kpi(page, "completion-rate").textContent(), "50 %");
    assert.equal(await page.evaluate(() => window.__noReload), true, "the page was not reloaded");

    // The CSV is the table: header, then one row per day, today with 4 and 2.
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download Created vs completed as CSV" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "tasks-throughput.csv");
    const csv = readFileSync(await download.path(), "utf8")
      .trim()
      .split("\r\n");
    assert.equal(csv[0], "day,created,completed");
    assert.equal(csv.length, 31, "a header and 30 days");
    assert.equal(csv.at(-1), `${today},4,2`);
    await page.context().close();
  });

  test("filters live in the URL; the admin sees every client, the client only theirs", async () => {
    const page = await newPage();
    await signIn(page, server.base, "admin", ADMIN_PASSWORD);
    await page.waitForURL(/\/admin/);
    await page.getByRole("link", { name: "Dashboard" }).click();
    await page.waitForURL(/\/admin\/analytics/);
    await eventually(async () => assert.equal(await kpi(page, "created").textContent(), "5"));
    await page.getByRole("combobox", { name: /^Range/ }).selectOption("7d");
    await page.waitForURL(/range=7d/);
    await page.getByRole("combobox", { name: /^Client/ }).selectOption({ label: "Acme" });
    await page.waitForURL(/client=\d+/);
    await eventually(async () => assert.equal(await kpi(page, "created").textContent(), "4"));
    // A reload keeps the filters.
    await page.reload();
    await eventually(async () => assert.equal(await kpi(page, "created").textContent(), "4"));
    assert.equal(await page.getByRole("combobox", { name: /^Range/ }).inputValue(), "7d");
    await screenshot(page, "analytics-admin");
    await page.context().close();

    const client = await newPage();
    await signIn(client, server.base, "acme", "password-1234");
    await client.waitForURL(/\/client/);
    await client.getByRole("link", { name: "Overview" }).click();
    await client.waitForURL(/\/client\/analytics/);
    await eventually(async () => assert.equal(await kpi(client, "created").textContent(), "4"));
    assert.equal(await kpi(client, "completed").textContent(), "2");
    await screenshot(client, "analytics-client");
    await client.context().close();
  });
});
