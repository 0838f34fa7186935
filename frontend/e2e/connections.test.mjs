// Connections: an admin adds a PostgreSQL connection (the real local server),
// tests it, and the password is never shown again nor logged.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { launchBrowser, screenshot, signIn, startServer, ADMIN_PASSWORD } from "./harness.mjs";

let server, browser;
const PASSWORD = "e2e-pg-password-4711";

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe("connections", () => {
  test("admin adds a PostgreSQL connection and tests it", async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signIn(page, server.base, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Connections" }).click();
    await page.waitForURL(/\/admin\/connections/);
    await page.getByRole("button", { name: "Add connection" }).click();
    const form = page.getByRole("region", { name: "Connection" });
    await form.getByLabel("Name").fill("warehouse");
    await form.getByLabel("Kind").selectOption("postgres");
    await form.getByLabel("TLS").selectOption("disable");
    await form.getByLabel("Host").fill("127.0.0.1");
    await form.getByLabel("Database").fill("postgres");
    await form.getByLabel("User").fill("postgres");
    await form.getByLabel("Password").fill(PASSWORD);
    await form.getByRole("button", { name: "Save connection" }).click();

    const row = page.getByRole("row").filter({ hasText: "warehouse" });
    await row.getByText("••••• (set)").waitFor();
    await row.getByRole("button", { name: "Test" }).click();
    const result = page.getByTestId("test-result-warehouse");
    await result.getByText("ok", { exact: true }).waitFor();
    assert.match(await result.textContent(), /PostgreSQL/);
    await screenshot(page, "admin-connections");

    // Editing shows that a password is set, never the password itself.
    await row.getByRole("button", { name: "Edit" }).click();
    assert.equal(
      await page.getByRole("region", { name: "Connection" }).getByText("••••• (set)").count(),
      1,
    );
    assert.ok(!(await page.content()).includes(PASSWORD), "password in the page");
    assert.ok(!server.logs.join("").includes(PASSWORD), "password in the server log");
  });
});
