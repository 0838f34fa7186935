// The Query node against the real PostgreSQL: an admin adds a connection in
// the browser, tests it and allows it for a client; the client's manager
// builds Query → Condition → Notification on the canvas, picks the connection
// from those allowed, maps the fields, plays the run and reads the rows, the
// mapped values and the branch taken. A connection name the client may not
// use stays visible with a warning. Axe runs in every screenshot().
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

const TABLE = `e2e_orders_${process.pid}`;
const CONNECTION = `shop_${process.pid}`;
const SQL = `SELECT id, customer, total FROM ${TABLE} WHERE total > :min ORDER BY id`;

let server, browser, api, floraToken, workflowId, legacyWorkflowId;

function psql(sql) {
  return execFileSync(
    "psql",
    ["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
    { encoding: "utf8" },
  );
}

before(async () => {
  psql(
    `CREATE TABLE ${TABLE} (id integer PRIMARY KEY, customer text NOT NULL, total numeric(10,2) NOT NULL);` +
      `INSERT INTO ${TABLE} VALUES (1, 'Acme', 120.50), (2, 'Globex', 80.00), (3, 'Initech', 640.00), (4, 'Umbrella', 99.99);`,
  );
  server = await startServer();
  browser = await launchBrowser();
  api = apiClient(server.base);
  const admin = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  const flora = await api.createUser(admin, "flora", "manager");
  const client = await api.createUser(admin, "fjord", "client");
  await api.call("PUT", `/api/admin/managers/${flora.id}/clients/${client.id}`, admin);
  floraToken = (await api.login("flora", "password-1234")).accessToken;
  workflowId = (
    await api.call("POST", "/api/workflows", floraToken, {
      clientId: client.id,
      name: "Large orders",
      graph: { nodes: [], edges: [] },
    })
  ).id;
  // A workflow saved while a connection was allowed for the client, which an
  // admin has withdrawn since (saving names only allowed connections).
  const legacy = {
    name: "legacy_dwh",
    kind: "postgres",
    host: "127.0.0.1",
    tlsMode: "disable",
    readOnly: true,
  };
  const legacyConnection = await api.call("POST", "/api/admin/connections", admin, {
    ...legacy,
    clientIds: [client.id],
  });
  legacyWorkflowId = (
    await api.call("POST", "/api/workflows", floraToken, {
      clientId: client.id,
      name: "Old report",
      graph: {
        nodes: [
          {
            id: "query_1",
            template: { name: "flow.query", version: 1 },
            position: { x: 0, y: 0 },
            params: { connection: "legacy_dwh", sql: "SELECT 1" },
          },
        ],
        edges: [],
      },
    })
  ).id;
  await api.call("PUT", `/api/admin/connections/${legacyConnection.id}`, admin, {
    ...legacy,
    clientIds: [],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  psql(`DROP TABLE IF EXISTS ${TABLE}`);
});

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

async function dropFromPalette(page, templateName, x, y) {
  const canvas = await page.getByTestId("canvas").boundingBox();
  await page.getByTestId(`palette-${templateName}`).dragTo(page.getByTestId("canvas"), {
    targetPosition: { x: x - canvas.x, y: y - canvas.y },
  });
}

async function handleCenter(page, nodeId, handleId) {
  const box = await page
    .locator(
      `.react-flow__node[data-id="${nodeId}"] .react-flow__handle[data-handleid="${handleId}"]`,
    )
    .boundingBox();
  assert.ok(box, `handle ${nodeId}/${handleId} visible`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Drags a connection with the mouse from an output handle to an input handle. */
async function connect(page, from, fromPort, to, toPort) {
  const a = await handleCenter(page, from, `out:${fromPort}`);
  const b = await handleCenter(page, to, `in:${toPort}`);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x, b.y, { steps: 5 });
  await page.mouse.up();
}

/** Clicks a node's header until it is selected (the view may still be moving). */
async function selectNode(page, id) {
  const node = page.locator(`.react-flow__node[data-id="${id}"]`);
  for (let i = 0; i < 5; i++) {
    await node.click({ position: { x: 40, y: 10 } });
    if ((await node.getAttribute("class")).includes("selected")) return;
    await page.waitForTimeout(200);
  }
  assert.fail(`could not select ${id}`);
}

describe("query", () => {
  test("admin adds a PostgreSQL connection, tests it and allows it for the client", async () => {
    const page = await newPage();
    await signIn(page, server.base, "admin", ADMIN_PASSWORD);
    await page.getByRole("link", { name: "Connections" }).click();
    await page.waitForURL(/\/admin\/connections/);
    await page.getByRole("button", { name: "Add connection" }).click();
    const form = page.getByRole("region", { name: "Connection" });
    await form.getByLabel("Name").fill(CONNECTION);
    await form.getByLabel("Kind").selectOption("postgres");
    await form.getByLabel("TLS").selectOption("disable");
    await form.getByLabel("Host").fill("127.0.0.1");
    await form.getByLabel("Database").fill("postgres");
    await form.getByLabel("User").fill("postgres");
    assert.equal(await form.getByLabel("Read-only").isChecked(), true, "read-only by default");
    await form.getByLabel("Fjord").check();
    await form.getByRole("button", { name: "Save connection" }).click();

    const row = page.getByRole("row").filter({ hasText: CONNECTION });
    await row.getByRole("button", { name: "Test" }).click();
    const result = page.getByTestId(`test-result-${CONNECTION}`);
    await result.getByText("ok", { exact: true }).waitFor();
    assert.match(await result.textContent(), /PostgreSQL/);
    await screenshot(page, "query-admin-connection");

    // The client's manager now sees the name, and nothing more.
    const usable = await api.call("GET", "/api/connections", floraToken);
    assert.deepEqual(usable, [{ name: CONNECTION, kind: "postgres", readOnly: true }]);
    await page.context().close();
  });

  test("flora builds Query → Condition → Notification, plays it and reads the rows", async () => {
    const page = await newPage();
    await signIn(page, server.base, "flora", "password-1234");
    await page.waitForURL(/\/manager$/);
    await page.goto(`${server.base}/manager/workflows/${workflowId}`);
    await page.getByTestId("palette-flow.query").getByTestId("flow-query").waitFor();

    await dropFromPalette(page, "flow.query", 330, 180);
    await dropFromPalette(page, "flow.condition", 690, 180);
    await dropFromPalette(page, "flow.notification", 900, 430);
    await page.locator('.react-flow__node[data-id="notification_1"]').waitFor();
    await page.getByTestId("node-query_1").getByTestId("flow-query").waitFor();
    await connect(page, "query_1", "first", "condition_1", "value");
    await connect(page, "condition_1", "true", "notification_1", "value");
    await page.locator(".react-flow__edge").nth(1).waitFor({ state: "attached" });
    assert.equal(await page.locator(".react-flow__edge").count(), 2);

    const inspector = page.getByRole("complementary", { name: "Inspector" });
    await selectNode(page, "query_1");
    // The connection is chosen from those allowed for the workflow's client.
    const connection = inspector.getByLabel(/^Connection/);
    await connection.locator(`option[value="${CONNECTION}"]`).waitFor({ state: "attached" });
    assert.deepEqual(await connection.locator("option").allInnerTexts(), [
      "—",
      `${CONNECTION} (PostgreSQL, read-only)`,
    ]);
    await connection.selectOption(CONNECTION);
    // Write-mode parameters appear only while the node writes.
    const writeFields = () =>
      Promise.all(
        ["Table", "Columns", "Key columns"].map((l) =>
          inspector.getByLabel(l, { exact: true }).count(),
        ),
      );
    assert.deepEqual(await writeFields(), [0, 0, 0]);
    const operation = inspector.getByLabel("Operation", { exact: true });
    await operation.selectOption("upsert");
    await inspector.getByLabel("Key columns", { exact: true }).waitFor();
    assert.deepEqual(await writeFields(), [1, 1, 1]);
    await operation.selectOption("insert");
    await inspector.getByLabel("Key columns", { exact: true }).waitFor({ state: "detached" });
    assert.deepEqual(await writeFields(), [1, 1, 0]);
    await operation.selectOption("read");
    await inspector.getByLabel("Table", { exact: true }).waitFor({ state: "detached" });
    const badges = inspector.getByTestId("connection-badges");
    await badges.getByText("PostgreSQL").waitFor();
    await badges.getByText("read-only").waitFor();

    const sql = inspector.getByLabel("SQL", { exact: true });
    await sql.fill(SQL);
    assert.match(await sql.evaluate((el) => getComputedStyle(el).fontFamily), /mono/i);
    assert.equal(
      await inspector.getByTestId("sql-help").innerText(),
      "Bound from the params input: :min ← params.min. Values are never spliced into the text.",
    );

    // The mapping is checked as it is typed, then names the ports it fills.
    const fields = inspector.getByLabel("Field mapping", { exact: true });
    assert.match(await inspector.getByTestId("fields-help").innerText(), /column as name/);
    await fields.fill("id: integer\ncustomer\ntotal: money");
    await inspector
      .getByTestId("fields-check")
      .getByText(/Line 3: unknown type “money”/)
      .waitFor();
    assert.equal(await fields.getAttribute("aria-invalid"), "true");
    await fields.fill("id: integer\ncustomer\ntotal: number");
    assert.equal(
      await inspector.getByTestId("fields-check").innerText(),
      "field1 = id, field2 = customer, field3 = total",
    );
    await inspector.getByLabel(/^params/).fill('{"min": 100}');
    await screenshot(page, "query-inspector");

    await selectNode(page, "condition_1");
    await inspector.getByLabel(/^Expression \(CEL\)/).fill("value.total > 100");
    await selectNode(page, "notification_1");
    await inspector.getByLabel("Recipients", { exact: true }).fill("flora");
    await inspector
      .getByLabel("Message", { exact: true })
      .fill("First large order: {{ value.customer }} ({{ value.total }})");
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="problem-count"]')?.textContent?.startsWith("0 "),
    );
    // Auto-layout runs in a worker and moves the nodes when it is done.
    const before = await page.locator('.react-flow__node[data-id="query_1"]').boundingBox();
    await page.getByRole("button", { name: "Auto-layout" }).click();
    await page.waitForFunction(
      ({ x, y }) => {
        const r = document
          .querySelector('.react-flow__node[data-id="query_1"]')
          ?.getBoundingClientRect();
        return r && (r.x !== x || r.y !== y);
      },
      { x: before.x, y: before.y },
    );
    await page.waitForTimeout(500);
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("unsaved changes").waitFor({ state: "detached" });
    const saved = await api.call("GET", `/api/workflows/${workflowId}`, floraToken);
    const query = saved.graph.nodes.find((n) => n.id === "query_1");
    assert.equal(query.params.connection, CONNECTION);
    assert.equal(query.params.fields, "id: integer\ncustomer\ntotal: number");
    assert.deepEqual(query.inputs, { params: { min: 100 } });

    await page.getByRole("button", { name: "▶ Run" }).click();
    await page.getByTestId("active-run-status").getByText("succeeded").waitFor({ timeout: 60_000 });
    const status = (id) => page.getByTestId(`run-node-${id}`).getAttribute("data-status");
    assert.equal(await status("query_1"), "succeeded");
    assert.equal(await status("condition_1"), "succeeded");
    assert.equal(await status("notification_1"), "succeeded");

    // The Query's rows as a table, typed as mapped, and the first field's port.
    await page.getByTestId("run-node-query_1").click();
    const rows = page.getByTestId("output-query_1-rows");
    await rows.getByText("Initech").waitFor();
    await rows.scrollIntoViewIfNeeded();
    assert.equal(await rows.getByText("Globex").count(), 0, "80.00 is not above :min");
    const rowCount = (await page.getByTestId("output-query_1-rowCount").innerText()).split("\n");
    assert.deepEqual(rowCount, ["rowCount", "integer", "2"]);
    const field1 = await page.getByTestId("output-query_1-field1").innerText();
    assert.match(field1, /1[\s\S]*3/);
    await screenshot(page, "query-run-rows");

    // The Condition took `true`: the first row's total, a number, is 120.5.
    await page.getByTestId("run-node-condition_1").click();
    await page.getByTestId("output-condition_1-true").getByText("Acme").waitFor();
    assert.equal(await page.getByTestId("output-condition_1-false").count(), 0);
    await selectNode(page, "condition_1");
    await page
      .getByRole("status", { name: "Result on the last run" })
      .getByText("returned true → branch true")
      .waitFor();

    const runId = (await api.call("GET", `/api/runs?workflowId=${workflowId}`, floraToken)).items[0]
      .id;
    const run = await api.call("GET", `/api/runs/${runId}`, floraToken);
    const outputs = run.nodes.find((n) => n.id === "query_1").executions.at(-1).outputs;
    assert.equal(outputs.rowCount, 2);
    assert.deepEqual(outputs.first, { id: 1, customer: "Acme", total: 120.5 });
    assert.deepEqual(outputs.field3, [120.5, 640]);
    assert.equal(run.nodes.find((n) => n.id === "condition_1").branch, "true");

    // The notification rendered the mapped row.
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="unread-count"]')?.textContent) >= 1,
    );
    await page.getByTestId("notification-bell").click();
    const notice = page.locator('[data-testid="notification"][data-kind="workflow"]');
    await notice.waitFor();
    assert.match(await notice.innerText(), /First large order: Acme \(120\.5\)/);
    await page.keyboard.press("Escape");
    await page.context().close();
  });

  test("a connection the client may not use stays visible with a warning", async () => {
    const page = await newPage();
    await signIn(page, server.base, "flora", "password-1234");
    await page.waitForURL(/\/manager$/);
    await page.goto(`${server.base}/manager/workflows/${legacyWorkflowId}`);
    await page.locator('.react-flow__node[data-id="query_1"]').waitFor();
    await selectNode(page, "query_1");
    const inspector = page.getByRole("complementary", { name: "Inspector" });
    const connection = inspector.getByLabel(/^Connection/);
    await inspector.getByTestId("connection-not-allowed").waitFor();
    assert.match(
      await inspector.getByTestId("connection-not-allowed").innerText(),
      /“legacy_dwh” is not allowed for this client/,
    );
    assert.equal(await connection.inputValue(), "legacy_dwh");
    assert.equal(
      await connection.evaluate((s) => s.options[s.selectedIndex].text),
      "legacy_dwh (not allowed for this client)",
    );
    await screenshot(page, "query-connection-not-allowed");
    // Picking an allowed one clears the warning.
    await connection.selectOption(CONNECTION);
    await inspector.getByTestId("connection-not-allowed").waitFor({ state: "detached" });
    await inspector.getByTestId("connection-badges").getByText("read-only").waitFor();
    await page.context().close();
  });
});
