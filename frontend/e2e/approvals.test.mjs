// Approvals and notifications: a manager builds source → Condition →
// Approval → Notification on the canvas and plays it; the run waits for the
// approver, who decides from the approval task; the run finishes live and
// the notification reaches the bell. Someone who may see the run but is not
// an approver sees the approval without the buttons, and a decision sent
// after another one is refused with a plain message. Axe runs in every
// screenshot().
import assert from "node:assert/strict";
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

let server, browser, api, adminToken, floraToken, workflowId, runId;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  api = apiClient(server.base);
  adminToken = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  const flora = await api.createUser(adminToken, "flora", "manager");
  const noor = await api.createUser(adminToken, "noor", "manager");
  const client = await api.createUser(adminToken, "fjord", "client");
  for (const m of [flora, noor])
    await api.call("PUT", `/api/admin/managers/${m.id}/clients/${client.id}`, adminToken);
  await api.call("POST", "/api/templates", adminToken, {
    name: "orders.source",
    title: "Order source",
    category: "orders",
    code: "def run(inputs, params, ctx):\n    return {'value': {'amount': inputs['amount']}}\n",
    inputs: [{ name: "amount", type: "number", required: true }],
    outputs: [{ name: "value", type: "object" }],
  });
  floraToken = (await api.login("flora", "password-1234")).accessToken;
  const wf = await api.call("POST", "/api/workflows", floraToken, {
    clientId: client.id,
    name: "Big orders",
    graph: { nodes: [], edges: [] },
  });
  workflowId = wf.id;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newContext() {
  return browser.newContext({ viewport: { width: 1440, height: 900 } });
}

async function newPage(context) {
  const page = await (context ?? (await newContext())).newPage();
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

const runStatus = async () => (await api.call("GET", `/api/runs/${runId}`, floraToken)).status;

describe("approvals", () => {
  let floraContext, editor;

  test("flora builds source → Condition → Approval → Notification on the canvas and plays it", async () => {
    floraContext = await newContext();
    editor = await newPage(floraContext);
    await signIn(editor, server.base, "flora", "password-1234");
    await editor.waitForURL(/\/manager$/);
    await editor.goto(`${server.base}/manager/workflows/${workflowId}`);

    // The palette's Flow section marks each flow node with its own glyph.
    for (const kind of ["condition", "wait", "approval", "notification"])
      await editor.getByTestId(`palette-flow.${kind}`).getByTestId(`flow-${kind}`).waitFor();
    assert.equal(
      await editor
        .getByTestId("palette-orders.source")
        .getByTestId(/^flow-/)
        .count(),
      0,
      "a Python node has no flow glyph",
    );

    await dropFromPalette(editor, "orders.source", 400, 230);
    await dropFromPalette(editor, "flow.condition", 760, 230);
    await dropFromPalette(editor, "flow.approval", 400, 520);
    await dropFromPalette(editor, "flow.notification", 760, 520);
    await editor.locator('.react-flow__node[data-id="notification_1"]').waitFor();
    assert.equal(await editor.locator(".react-flow__node").count(), 4);
    for (const [id, kind] of [
      ["condition_1", "condition"],
      ["approval_1", "approval"],
      ["notification_1", "notification"],
    ])
      await editor.getByTestId(`node-${id}`).getByTestId(`flow-${kind}`).waitFor();

    await connect(editor, "source_1", "value", "condition_1", "value");
    await connect(editor, "condition_1", "true", "approval_1", "value");
    await connect(editor, "approval_1", "approved", "notification_1", "value");
    // A straight edge has no height, so wait for it to exist rather than to show.
    await editor.locator(".react-flow__edge").nth(2).waitFor({ state: "attached" });
    assert.equal(await editor.locator(".react-flow__edge").count(), 3);

    const inspector = editor.getByRole("complementary", { name: "Inspector" });
    await selectNode(editor, "source_1");
    await inspector.getByLabel(/^amount/).fill("1500");
    await selectNode(editor, "condition_1");
    await inspector.getByLabel(/^Expression \(CEL\)/).fill("value.amount > 1000");
    await selectNode(editor, "approval_1");
    await inspector.getByLabel("Approvers", { exact: true }).fill("noor");
    await selectNode(editor, "notification_1");
    await inspector.getByLabel("Recipients", { exact: true }).fill("flora");
    const message = inspector.getByLabel("Message", { exact: true });
    await message.fill("Approved {{ value.amount }}");
    // A template parameter says how to write one, tied to its field.
    const helpId = await message.getAttribute("aria-describedby");
    assert.ok(helpId, "the message field is described by its help");
    const help = editor.locator(`[id="${helpId}"]`);
    assert.match(await help.innerText(), /template over the inputs/);
    assert.equal(await help.locator("code").first().innerText(), "{{ value.amount }}");
    // The rule for a node after a branch has a short name and a line saying what it does.
    const runsWhen = inspector.getByLabel("Runs when");
    await runsWhen.selectOption("none_failed_min_one_success");
    assert.equal(
      await runsWhen.evaluate((s) => s.options[s.selectedIndex].text),
      "None failed, one ran",
    );
    await inspector.getByText(/For a join after a Condition or Approval/).waitFor();
    await runsWhen.selectOption("all_succeeded");

    await editor.waitForFunction(() =>
      document.querySelector('[data-testid="problem-count"]')?.textContent?.startsWith("0 "),
    );
    // Auto-layout runs in a worker and moves the nodes when it is done.
    const before = await editor.locator('.react-flow__node[data-id="source_1"]').boundingBox();
    await editor.getByRole("button", { name: "Auto-layout" }).click();
    await editor.waitForFunction(
      (y) =>
        document.querySelector('.react-flow__node[data-id="source_1"]')?.getBoundingClientRect()
          .y !== y,
      before.y,
    );
    await editor.waitForTimeout(500);
    await editor.getByRole("button", { name: "Save", exact: true }).click();
    await editor.getByText("unsaved changes").waitFor({ state: "detached" });
    await editor.locator(".react-flow__pane").click({ position: { x: 20, y: 20 } });
    await editor.waitForTimeout(300);
    // Every card lies wholly inside the canvas.
    const canvas = await editor.getByTestId("canvas").boundingBox();
    for (const id of ["source_1", "condition_1", "approval_1", "notification_1"]) {
      const b = await editor.locator(`.react-flow__node[data-id="${id}"]`).boundingBox();
      assert.ok(
        b.x >= canvas.x && b.x + b.width <= canvas.x + canvas.width && b.y >= canvas.y,
        `${id} is inside the canvas`,
      );
    }
    await screenshot(editor, "approvals-canvas");

    const saved = await api.call("GET", `/api/workflows/${workflowId}`, floraToken);
    const byId = Object.fromEntries(saved.graph.nodes.map((n) => [n.id, n]));
    assert.equal(byId.condition_1.params.expression, "value.amount > 1000");
    assert.equal(byId.approval_1.params.approvers, "noor");
    assert.equal(byId.notification_1.params.message, "Approved {{ value.amount }}");

    await editor.getByRole("button", { name: "▶ Run" }).click();
    await editor.getByTestId("active-run-status").getByText("waiting").waitFor({ timeout: 60_000 });
    runId = (await api.call("GET", `/api/runs?workflowId=${workflowId}`, floraToken)).items[0].id;
    const cardStatus = (id) =>
      editor.locator(`[data-testid="node-${id}"]`).getAttribute("data-run-status");
    assert.equal(await cardStatus("approval_1"), "waiting");
    assert.equal(await cardStatus("notification_1"), "pending");
    // The run panel opening under the canvas keeps the whole graph in view,
    // clear of the minimap.
    await editor.waitForTimeout(300);
    const shrunk = await editor.getByTestId("canvas").boundingBox();
    const minimap = await editor.locator(".react-flow__minimap").boundingBox();
    for (const id of ["source_1", "condition_1", "approval_1", "notification_1"]) {
      const b = await editor.locator(`.react-flow__node[data-id="${id}"]`).boundingBox();
      assert.ok(
        b.x >= shrunk.x &&
          b.y >= shrunk.y &&
          b.x + b.width <= shrunk.x + shrunk.width &&
          b.y + b.height <= shrunk.y + shrunk.height,
        `${id} lies inside the canvas`,
      );
      const clear =
        b.x + b.width <= minimap.x ||
        minimap.x + minimap.width <= b.x ||
        b.y + b.height <= minimap.y ||
        minimap.y + minimap.height <= b.y;
      assert.ok(clear, `${id} is not under the minimap`);
    }

    // In the editor's run panel the approval shows for flora, without the buttons.
    await editor.getByTestId("run-node-approval_1").click();
    const panel = editor.getByTestId("approval-panel");
    await panel.getByTestId("approval-not-yours").waitFor();
    assert.equal(await panel.getByRole("button", { name: "Approve" }).count(), 0);
  });

  test("flora sees the waiting run: who may decide and what, but no Approve button", async () => {
    const page = await newPage(floraContext);
    await page.goto(`${server.base}/manager/runs/${runId}`);
    // The node the run waits at is shown without picking it.
    const panel = page.getByTestId("approval-panel");
    await panel.waitFor();
    assert.equal(await panel.getAttribute("data-status"), "pending");
    assert.equal(await panel.getByTestId("approval-status").innerText(), "Waiting for a decision");
    assert.equal(await panel.getByTestId("approval-approvers").innerText(), "noor");
    assert.deepEqual(JSON.parse(await panel.getByTestId("approval-subject").innerText()), {
      amount: 1500,
    });
    assert.match(await panel.getByTestId("approval-not-yours").innerText(), /Only noor and admins/);
    assert.equal(await panel.getByRole("button", { name: /Approve|Reject/ }).count(), 0);

    const detail = (id) => page.getByTestId(`run-node-${id}`).getByTestId("run-node-detail");
    assert.match(await detail("approval_1").innerText(), /^waiting for noor · /);
    assert.equal(await detail("notification_1").innerText(), "pending");
    assert.match(await detail("condition_1").innerText(), /^\d+(\.\d+)? (ms|s)$/);
    await screenshot(page, "approvals-waiting-run");
    await page.close();
  });

  test("noor approves from the approval task; a late second decision is refused", async () => {
    const noorContext = await newContext();
    const noor = await newPage(noorContext);
    await signIn(noor, server.base, "noor", "password-1234");
    await noor.waitForURL(/\/manager$/);

    // A run page that no longer follows the run: its buttons go stale.
    const stale = await newPage(noorContext);
    await stale.route("**/api/runs/*/events", (r) => r.abort());
    await stale.goto(`${server.base}/manager/runs/${runId}`);
    await stale.getByTestId("approval-panel").getByRole("button", { name: "Reject" }).waitFor();

    await noor.getByRole("link", { name: "Tasks" }).click();
    await noor.waitForURL(/\/manager\/tasks/);
    await noor.getByTestId("task-card").filter({ hasText: "Approval needed" }).click();
    const drawer = noor.getByTestId("task-drawer");
    const panel = drawer.getByTestId("approval-panel");
    await panel.getByRole("button", { name: "Approve" }).waitFor();
    assert.deepEqual(JSON.parse(await panel.getByTestId("approval-subject").innerText()), {
      amount: 1500,
    });
    assert.equal(
      await panel.getByTestId("approval-run-link").getAttribute("href"),
      `/manager/runs/${runId}`,
    );
    await panel.getByLabel(/^Comment/).fill("Within budget <b>ok</b>");
    await screenshot(noor, "approvals-task");

    await panel.getByRole("button", { name: "Approve" }).click();
    await panel.getByTestId("approval-decision").getByText("Approved by noor").waitFor();
    assert.equal(await panel.getAttribute("data-status"), "approved");
    // The comment is text: its markup shows as typed.
    assert.equal(
      await panel.getByTestId("approval-comment").innerText(),
      "Within budget <b>ok</b>",
    );
    assert.equal(await panel.locator("b").count(), 0);
    assert.equal(await panel.getByRole("button", { name: "Approve" }).count(), 0);

    await stale.getByTestId("approval-panel").getByRole("button", { name: "Reject" }).click();
    const refusal = stale.getByTestId("approval-error");
    await refusal.waitFor();
    assert.equal(await refusal.innerText(), "Too late: already approved by noor.");
    await stale.screenshot({ path: `${screenshotDir}/approvals-late-decision.png` });
    await stale.getByTestId("approval-decision").getByText("Approved by noor").waitFor();
    assert.equal(await stale.getByTestId("approval-panel").getAttribute("data-status"), "approved");
    await noorContext.close();
  });

  test("flora sees the run finish live and the notification arrive in the bell", async () => {
    await editor
      .getByTestId("active-run-status")
      .getByText("succeeded")
      .waitFor({ timeout: 60_000 });
    const cardStatus = (id) =>
      editor.locator(`[data-testid="node-${id}"]`).getAttribute("data-run-status");
    assert.equal(await cardStatus("approval_1"), "succeeded");
    assert.equal(await cardStatus("notification_1"), "succeeded");
    const run = await api.call("GET", `/api/runs/${runId}`, floraToken);
    assert.equal(run.status, "succeeded");
    assert.equal(run.nodes.find((n) => n.id === "approval_1").branch, "approved");
    assert.equal(await runStatus(), "succeeded");

    const bell = editor.getByTestId("notification-bell");
    await editor.waitForFunction(
      () => Number(document.querySelector('[data-testid="unread-count"]')?.textContent) >= 1,
    );
    await bell.click();
    const notice = editor.locator('[data-testid="notification"][data-kind="workflow"]');
    await notice.waitFor();
    assert.match(await notice.innerText(), /Approved 1500/);
    assert.match(await notice.innerText(), /Workflow notifications/);
    await screenshot(editor, "approvals-notification");
    await editor.keyboard.press("Escape");

    const page = await newPage(floraContext);
    await page.goto(`${server.base}/manager/runs/${runId}`);
    await page.getByTestId("run-node-approval_1").click();
    const panel = page.getByTestId("approval-panel");
    await panel.getByTestId("approval-decision").getByText("Approved by noor").waitFor();
    assert.equal(
      await panel.getByTestId("approval-comment").innerText(),
      "Within budget <b>ok</b>",
    );
    await page.getByTestId("output-approval_1-decision").waitFor();
    assert.equal(
      await page.getByTestId("run-node-notification_1").getAttribute("data-status"),
      "succeeded",
    );
    await screenshot(page, "approvals-finished-run");
    await floraContext.close();
  });

  test("an admin keeps the webhook allow-list; a bad line is named", async () => {
    const page = await newPage();
    await signIn(page, server.base, "admin", ADMIN_PASSWORD);
    await page.waitForURL(/\/admin/);
    await page.goto(`${server.base}/admin/settings`);
    const section = page.getByTestId("webhook-settings");
    const field = section.getByLabel("Allowed webhook URLs (one per line)");
    await field.fill(
      "https://hooks.slack.com/services/\nftp://files.example.com/\n\nhttps://chat.example.com/hooks/",
    );
    await section.getByRole("button", { name: "Save webhook list" }).click();
    const errors = section.getByTestId("webhook-errors");
    await errors.waitFor();
    assert.match(
      await errors.innerText(),
      /^Line 2 \(ftp:\/\/files\.example\.com\/\): must be an http\(s\) URL/,
    );
    assert.equal(await field.getAttribute("aria-invalid"), "true");
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, "approvals-webhook-settings");
    assert.deepEqual(
      (await api.call("GET", "/api/admin/settings/webhooks", adminToken)).allowed,
      [],
      "nothing is stored while a line is bad",
    );

    await field.fill("https://hooks.slack.com/services/\n\nhttps://chat.example.com/hooks/");
    await section.getByRole("button", { name: "Save webhook list" }).click();
    await errors.waitFor({ state: "detached" });
    await page.getByText("Webhook allow-list saved (2 entries).").waitFor();
    assert.deepEqual((await api.call("GET", "/api/admin/settings/webhooks", adminToken)).allowed, [
      "https://chat.example.com/hooks/",
      "https://hooks.slack.com/services/",
    ]);
    await page.reload();
    assert.equal(
      await page.getByLabel("Allowed webhook URLs (one per line)").inputValue(),
      "https://chat.example.com/hooks/\nhttps://hooks.slack.com/services/",
    );
    await page.context().close();
  });
});
