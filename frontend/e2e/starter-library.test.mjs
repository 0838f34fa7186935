// The starter node library: installed from the admin's empty library page, and on a first start.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  ADMIN_PASSWORD,
  apiClient,
  launchBrowser,
  screenshot,
  signIn,
  startServer,
} from "./harness.mjs";

const STARTER_COUNT = 18;
let browser;
const servers = [];

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const s of servers) await s.stop();
});

test("the admin installs the starter library from the empty node library", async () => {
  const server = await startServer();
  servers.push(server);
  const page = await (
    await browser.newContext({ viewport: { width: 1440, height: 900 } })
  ).newPage();
  page.setDefaultTimeout(15_000);
  await signIn(page, server.base, "admin", ADMIN_PASSWORD);
  await page.waitForURL(/\/admin\/users$/);
  await page.getByRole("link", { name: "Node library" }).click();
  await page.getByText("No node types yet — install the starter library or create one").waitFor();

  await page.getByRole("button", { name: "Install starter library" }).click();

  const report = page.getByTestId("starter-install-report");
  await report
    .getByText(`Starter library: ${STARTER_COUNT} created, 0 updated, 0 unchanged, 0 skipped.`)
    .waitFor();
  await page.getByTestId("template-card-csv.read").waitFor();
  await page
    .getByTestId("template-card-http.request")
    .getByText(/trusted/)
    .waitFor();
  await screenshot(page, "starter-library");

  // Installing again changes nothing.
  await report.getByRole("button", { name: "Dismiss" }).click();
  await page.getByRole("button", { name: "Install starter library" }).click();
  await page
    .getByTestId("starter-install-report")
    .getByText(`0 created, 0 updated, ${STARTER_COUNT} unchanged, 0 skipped.`)
    .waitFor();
  await page.context().close();
});

test("a first start installs the starter library when the setting is on", async () => {
  const server = await startServer({ KATALUSIS_STARTER_LIBRARY: "true" });
  servers.push(server);
  const api = apiClient(server.base);
  const token = (await api.login("admin", ADMIN_PASSWORD)).accessToken;

  // The platform's flow nodes are installed on every start; the starter library comes on top.
  const templates = (await api.call("GET", "/api/templates", token)).filter((t) => !t.builtin);

  assert.equal(templates.length, STARTER_COUNT);
  assert.ok(templates.every((t) => t.version === 1 && t.description.length > 0));
});
