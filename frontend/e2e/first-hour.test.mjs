// The first hour: the demo (KATALUSIS_DEMO=true), the admin's oversight pages,
// publishing a test run, the shortcuts dialog, and axe on each page shown.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ADMIN_PASSWORD,
  apiClient,
  checkA11y,
  launchBrowser,
  screenshot,
  signIn,
  startServer,
} from "./harness.mjs";

let server, browser, api, adminToken;

before(async () => {
  server = await startServer({ KATALUSIS_DEMO: "true", KATALUSIS_STARTER_LIBRARY: "true" });
  browser = await launchBrowser();
  api = apiClient(server.base);
  adminToken = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  // The demo's two runs are started on startup; wait until both have finished.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const runs = await api.call("GET", "/api/runs?count=exact", adminToken);
    if (runs.total === 2 && runs.items.every((r) => r.status === "succeeded")) break;
    assert.ok(Date.now() < deadline, `demo runs did not finish: ${JSON.stringify(runs.items)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The demo password printed once in the server log for `username`. */
function demoPassword(username) {
  // eslint-disable-next-line no-control-regex
  const log = server.logs.join("").replace(/\x1b\[[0-9;]*m/g, "");
  const line = log.split("\n").find((l) => l.includes(username) && l.includes("password"));
  assert.ok(line, `no demo password for ${username} in the log:\n${log}`);
  return line.match(/password[=:]\s*"?([^\s"]+)/)[1];
}

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

describe("the first hour", () => {
  test("the login page passes axe", async () => {
    const page = await newPage();
    await page.goto(`${server.base}/login`);
    await page.getByLabel("Username or email").waitFor();
    await screenshot(page, "login");
    await page.context().close();
  });

  test("the demo client signs in with the logged password and reads named, explained results", async () => {
    const page = await newPage();
    await signIn(page, server.base, "demo-client", demoPassword("demo-client"));
    await page.waitForURL(/\/client$/);
    await page.getByText("Demo: revenue by region").waitFor();
    await page.getByText("Demo: order confirmations").waitFor();
    await page.getByText(/Totals the month's orders per region/).waitFor();
    await screenshot(page, "demo-client-results");
    await page
      .getByRole("link", { name: /^#\d+$/ })
      .first()
      .click();
    await page.getByRole("region", { name: "About this result" }).waitFor();
    await page.getByTestId("run-details").waitFor();
    await screenshot(page, "demo-client-run");
    await page.context().close();
  });

  test("the admin lists every run, filters them and opens one read-only", async () => {
    const page = await newPage();
    await signIn(page, server.base, "admin", ADMIN_PASSWORD);
    await page.waitForURL(/\/admin\/users$/);
    await screenshot(page, "admin-users-demo");
    await page.getByRole("link", { name: "Workflows", exact: true }).click();
    await page.getByText("Demo: revenue by region").waitFor();
    await screenshot(page, "admin-workflows");

    await page.getByRole("link", { name: "Runs", exact: true }).click();
    await page.waitForURL(/\/admin\/runs$/);
    const rows = page.locator('[data-testid^="admin-run-"]');
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
    await screenshot(page, "admin-runs");

    await page.getByLabel("Started by").selectOption({ label: "Demo Manager" });
    await page.getByLabel("Status").selectOption("failed");
    await page.getByText("No runs match these filters.").waitFor();
    await page.getByLabel("Status").selectOption("succeeded");
    await rows.nth(1).waitFor();
    assert.match(page.url(), /startedBy=\d+/);
    await page
      .getByRole("link", { name: /^#\d+$/ })
      .first()
      .click();
    await page.waitForURL(/\/admin\/runs\/\d+$/);
    await page.getByTestId("run-details").waitFor();
    await page.getByRole("heading", { name: /Run #\d+: Demo: / }).waitFor();
    await screenshot(page, "admin-run");

    // The keyboard shortcuts dialog opens on "?".
    await page.locator("body").click({ position: { x: 5, y: 300 } });
    await page.keyboard.press("?");
    await page.getByTestId("shortcuts-dialog").waitFor();
    await screenshot(page, "shortcuts-dialog");
    await page.keyboard.press("Escape");
    await page.context().close();
  });

  test("a test run starts unpublished; the manager publishes it and hides it again", async () => {
    const managerToken = (await api.login("demo-manager", demoPassword("demo-manager")))
      .accessToken;
    const clientToken = (await api.login("demo-client", demoPassword("demo-client"))).accessToken;
    const workflows = await api.call("GET", "/api/workflows?q=revenue", managerToken);
    const workflowId = workflows.items[0].id;

    const page = await newPage();
    await signIn(page, server.base, "demo-manager", demoPassword("demo-manager"));
    await page.waitForURL(/\/manager$/);
    await screenshot(page, "demo-manager-clients");
    await page.goto(`${server.base}/manager/workflows/${workflowId}`);
    await page.getByRole("button", { name: "Test run" }).click();
    const controls = page.getByTestId("publish-controls");
    await controls.getByText("Not published").waitFor({ timeout: 40_000 });
    const runId = Number((await controls.innerText()).match(/Run #(\d+)/)[1]);
    const visible = async () =>
      (await api.call("GET", "/api/runs", clientToken)).items.some((r) => r.id === runId);
    assert.equal(await visible(), false, "a test run is hidden from the client");
    await screenshot(page, "manager-test-run-unpublished");

    await controls.getByRole("button", { name: "Publish to client" }).click();
    await controls.getByText("Published to the client").waitFor();
    assert.equal(await visible(), true, "published runs reach the client");
    // The box follows the server's answer, so click and wait for it.
    await controls.getByLabel("Share logs with the client").click();
    await page.getByText(/published to the client, with its logs/).waitFor();
    const run = await api.call("GET", `/api/runs/${runId}`, clientToken);
    assert.equal(run.logsVisibleToClient, true);
    await checkA11y(page, "manager-run-published");

    await controls.getByRole("button", { name: "Unpublish" }).click();
    await controls.getByText("Not published").waitFor();
    assert.equal(await visible(), false, "unpublished runs leave the portal");
    await page.context().close();
  });
});
