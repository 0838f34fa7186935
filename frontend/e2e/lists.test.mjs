// Lists past one page: the admin's run list and audit log page with cursors
// (Next/Previous), show every row exactly once even while new runs arrive,
// and never ask the server for a total they do not show; the storage page
// shows table sizes and the retention settings the server was started with.
// Rows are written straight into the test database, so a few SQL statements
// stand in for many runs. Axe runs in every screenshot().
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import {
  ADMIN_PASSWORD,
  apiClient,
  launchBrowser,
  screenshot,
  signIn,
  startServer,
} from "./harness.mjs";

const RUNS = 60; // the run list shows 25 a page
const AUDIT = 70; // the audit log shows 50 a page

let server, browser, api, adminToken, client, workflowId;

function sql(statements) {
  const u = new URL(process.env.E2E_MYSQL_URL ?? "mysql://root@127.0.0.1:3306");
  const args = ["-h", u.hostname, "-P", u.port || "3306", "-u", u.username || "root"];
  if (u.password) args.push(`-p${decodeURIComponent(u.password)}`);
  return execFileSync("mysql", [...args, "--protocol=tcp", "-N", server.db], {
    input: statements,
  }).toString();
}

/** `n` finished runs of the workflow, the newest last. */
function insertRuns(n, adminId) {
  const rows = Array.from(
    { length: n },
    () =>
      `(${workflowId}, 1, ${client.id}, ${adminId}, 'succeeded', 'continue', '{}', '{}', TRUE, ` +
      `NOW(6), NOW(6), NOW(6), 1, 0)`,
  );
  sql(
    "INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, " +
      "snapshot, node_states, published, created_at, started_at, finished_at, node_count, failed_nodes) VALUES " +
      rows.join(", ") +
      ";",
  );
}

before(async () => {
  server = await startServer({
    KATALUSIS_RUN_RETENTION_DAYS: "90",
    KATALUSIS_RETENTION_LOG_LINES_DAYS: "14",
    KATALUSIS_RETENTION_AUDIT_DAYS: "365",
  });
  browser = await launchBrowser();
  api = apiClient(server.base);
  adminToken = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  client = await api.createUser(adminToken, "acme", "client");
  const me = await api.call("GET", "/api/auth/me", adminToken);
  workflowId = Number(
    sql(
      "INSERT INTO workflow (client_id, name, description, graph, revision, created_by, created_at, " +
        `updated_by, updated_at) VALUES (${client.id}, 'Nightly import', '', '{"nodes":[],"edges":[]}', 1, ` +
        `${me.id}, NOW(6), ${me.id}, NOW(6)); SELECT LAST_INSERT_ID();`,
    ).trim(),
  );
  insertRuns(RUNS, me.id);
  const audit = Array.from(
    { length: AUDIT },
    (_, i) =>
      `(TIMESTAMPADD(SECOND, ${i}, '2026-11-01'), ${me.id}, 'admin', 'e2e.seed', 'run', '${i}', ` +
      `'success', 200, 'seed-${String(i).padStart(3, "0")}', '127.0.0.1')`,
  );
  sql(
    "INSERT INTO audit_log (at, user_id, role, action, object_type, object_id, outcome, status, " +
      `request_id, client_ip) VALUES ${audit.join(", ")};`,
  );
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A signed-in admin page that records the URLs of its list requests. */
async function adminPage(urlPart) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const requests = [];
  page.on("request", (r) => {
    if (r.url().includes(urlPart)) requests.push(r.url());
  });
  await signIn(page, server.base, "admin", ADMIN_PASSWORD);
  await page.waitForURL(/\/admin/);
  return { page, requests };
}

const pagination = (page) => page.getByRole("navigation", { name: "Pagination" });

/** The texts of the `rows` cells once the first of them is no longer `firstBefore`. */
async function rowsOnceStable(page, rows, firstBefore) {
  // The previous page may stay on screen while the next loads: wait until
  // a first row is there and is another one.
  await page.waitForFunction(
    ([sel, before]) => {
      const first = document.querySelector(sel);
      return first != null && first.textContent !== before;
    },
    [rows, firstBefore],
  );
  return page.locator(rows).allTextContents();
}

describe("cursor lists", () => {
  test("the run list pages through every run exactly once while runs arrive", async () => {
    const { page, requests } = await adminPage("/api/runs");
    await page.getByRole("link", { name: "Runs", exact: true }).click();
    await page.waitForURL(/\/admin\/runs/);
    const rows = '[data-testid^="admin-run-"] td:first-child a';
    await page.locator(rows).first().waitFor();
    const pages = [await page.locator(rows).allTextContents()];
    assert.equal(pages[0].length, 25);
    await assert.doesNotReject(() => pagination(page).getByText("1–25 of more").waitFor());
    await screenshot(page, "lists-runs-first-page");

    // New runs arrive while the admin reads (after the first page, which
    // refreshes every 10 s and would show them on top): they are newer than
    // the cursor, so the next pages neither repeat a row nor skip one.
    const next = pagination(page).getByRole("button", { name: "Next" });
    const me = await api.call("GET", "/api/auth/me", adminToken);
    while (await next.isEnabled()) {
      const first = (await page.locator(rows).first().textContent()) ?? "";
      await next.click();
      pages.push(await rowsOnceStable(page, rows, first));
      if (pages.length === 2) insertRuns(5, me.id);
    }
    const seen = pages.flat();
    assert.equal(new Set(seen).size, seen.length, `a run came twice: ${seen}`);
    assert.deepEqual(
      pages.map((p) => p.length),
      [25, 25, 10],
    );
    await pagination(page).getByText("51–60").waitFor();
    await screenshot(page, "lists-runs-last-page");

    // Previous goes back through the same pages; the first page, read
    // afresh, now starts with the five new runs.
    const previous = pagination(page).getByRole("button", { name: "Previous" });
    const first = (await page.locator(rows).first().textContent()) ?? "";
    await previous.click();
    assert.deepEqual(await rowsOnceStable(page, rows, first), pages[1]);
    await previous.click();
    // It shows the first page as it was read, and refreshes it.
    const newest = `#${sql("SELECT MAX(run_id) FROM run;").trim()}`;
    await page.waitForFunction(
      ([sel, text]) => document.querySelector(sel)?.textContent === text,
      [rows, newest],
    );
    const fresh = await page.locator(rows).allTextContents();
    assert.deepEqual(fresh.slice(5), pages[0].slice(0, 20));
    assert.equal(await previous.isDisabled(), true);

    // Cursor requests only, and no total asked for: the list never shows one.
    assert.ok(
      requests.some((u) => u.includes("after=")),
      requests.join("\n"),
    );
    assert.ok(
      requests.every((u) => !u.includes("count=")),
      `a list asked for a count:\n${requests.join("\n")}`,
    );
    await page.context().close();
  });

  test("the audit log pages forward and back over every row exactly once", async () => {
    const { page, requests } = await adminPage("/api/admin/audit");
    await page.getByRole("link", { name: "Audit log", exact: true }).click();
    await page.waitForURL(/\/admin\/audit/);
    await page.getByRole("heading", { name: "Audit log" }).waitFor();
    const rows = "tbody tr td:last-child";
    await page.locator(rows).first().waitFor();
    const pages = [await page.locator(rows).allTextContents()];
    assert.equal(pages[0].length, 50);
    // Every entry written so far must show up once (viewing writes none).
    const expected = sql("SELECT request_id FROM audit_log;").trim().split("\n");
    assert.ok(expected.length > AUDIT);
    const next = pagination(page).getByRole("button", { name: "Next" });
    while (await next.isEnabled()) {
      const first = (await page.locator(rows).first().textContent()) ?? "";
      await next.click();
      pages.push(await rowsOnceStable(page, rows, first));
    }
    const seen = pages.flat();
    assert.equal(new Set(seen).size, seen.length, `an entry came twice: ${seen}`);
    assert.equal(seen.filter((r) => r.startsWith("seed-")).length, AUDIT);
    const missing = expected.filter((r) => !seen.includes(r));
    assert.deepEqual(missing, [], "entries never shown");
    await screenshot(page, "lists-audit-last-page");
    const previous = pagination(page).getByRole("button", { name: "Previous" });
    const first = (await page.locator(rows).first().textContent()) ?? "";
    await previous.click();
    assert.deepEqual(await rowsOnceStable(page, rows, first), pages.at(-2));
    assert.ok(
      requests.every((u) => !u.includes("count=")),
      `the audit log asked for a count:\n${requests.join("\n")}`,
    );
    await page.context().close();
  });
});

describe("storage", () => {
  test("the storage page shows table sizes and the retention settings", async () => {
    const { page } = await adminPage("/api/admin/storage");
    await page.getByRole("link", { name: "Storage", exact: true }).click();
    await page.waitForURL(/\/admin\/storage/);
    await page.getByRole("heading", { name: "Storage" }).waitFor();
    const table = (name) =>
      page.locator("tbody tr").filter({ has: page.getByText(name, { exact: true }) });
    for (const name of ["run", "node_log", "audit_log", "run_event"]) await table(name).waitFor();
    // Rows (approx.), data and index sizes for the run table.
    const cells = await table("run").locator("td").allTextContents();
    assert.equal(cells.length, 4, cells.join(" | "));
    assert.match(cells[2], /^\d+(\.\d)? MiB$/);
    assert.match(cells[3], /^\d+(\.\d)? MiB$/);
    const setting = (label) => page.locator("dl > div").filter({ hasText: label }).locator("dd");
    assert.match(await setting("Total").textContent(), /MiB$/);
    // Each kind on its own setting; unset ones fall back to the run default.
    assert.equal(await setting("Run events").textContent(), "90 days");
    assert.equal(await setting("Log lines").textContent(), "14 days");
    assert.equal(await setting("Files").textContent(), "90 days");
    assert.equal(await setting("Audit rows").textContent(), "365 days");
    await screenshot(page, "lists-storage");
    await page.context().close();
  });
});
