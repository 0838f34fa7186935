// Flow nodes in the editor: a Condition (drawn with a diamond) routes a run
// down one branch, the other branch ends skipped for `branch`, and a join with
// "none failed, at least one ran" runs after the branch that was taken.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  ADMIN_PASSWORD,
  apiClient,
  checkA11y,
  launchBrowser,
  screenshot,
  signIn,
  startServer,
} from "./harness.mjs";

let server, browser, api, workflowId;

const pass = (name, inputs, outputs, code) => ({
  name,
  title: name,
  category: "e2e",
  code,
  inputs,
  outputs,
});

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  api = apiClient(server.base);
  const admin = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  const manager = await api.createUser(admin, "flora", "manager");
  const client = await api.createUser(admin, "fjord", "client");
  await api.call("PUT", `/api/admin/managers/${manager.id}/clients/${client.id}`, admin);
  await api.call(
    "POST",
    "/api/templates",
    admin,
    pass(
      "num.source",
      [{ name: "amount", type: "number", required: true }],
      [{ name: "value", type: "object" }],
      "def run(inputs, params, ctx):\n    return {'value': {'amount': inputs['amount']}}\n",
    ),
  );
  await api.call(
    "POST",
    "/api/templates",
    admin,
    pass(
      "num.tag",
      [{ name: "value", type: "json", required: true }],
      [{ name: "seen", type: "number" }],
      "def run(inputs, params, ctx):\n    return {'seen': inputs['value']['amount']}\n",
    ),
  );
  await api.call(
    "POST",
    "/api/templates",
    admin,
    pass(
      "num.report",
      [
        { name: "high", type: "number" },
        { name: "low", type: "number" },
      ],
      [{ name: "which", type: "string" }],
      "def run(inputs, params, ctx):\n    return {'which': 'high' if inputs.get('high') is not None else 'low'}\n",
    ),
  );
  const token = (await api.login("flora", "password-1234")).accessToken;
  const at = (x, y) => ({ x, y });
  const node = (id, name, x, y, extra = {}) => ({
    id,
    template: { name, version: 1 },
    position: at(x, y),
    params: {},
    ...extra,
  });
  const edge = (source, sourcePort, target, targetPort) => ({
    id: `${source}-${sourcePort}-${target}`,
    source,
    sourcePort,
    target,
    targetPort,
  });
  const wf = await api.call("POST", "/api/workflows", token, {
    clientId: client.id,
    name: "Route by amount",
    graph: {
      nodes: [
        node("src", "num.source", 0, 100, { inputs: { amount: 1500 } }),
        node("cond", "flow.condition", 300, 100, {
          params: { expression: "value.amount > 1000" },
        }),
        node("high", "num.tag", 600, 0),
        node("low", "num.tag", 600, 220),
        node("report", "num.report", 900, 100),
      ],
      edges: [
        edge("src", "value", "cond", "value"),
        edge("cond", "true", "high", "value"),
        edge("cond", "false", "low", "value"),
        edge("high", "seen", "report", "high"),
        edge("low", "seen", "report", "low"),
      ],
    },
  });
  workflowId = wf.id;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a condition routes the run; the join is set to run after either branch", async () => {
  const page = await (
    await browser.newContext({ viewport: { width: 1440, height: 900 } })
  ).newPage();
  page.setDefaultTimeout(15_000);
  await signIn(page, server.base, "flora", "password-1234");
  await page.waitForURL(/\/manager$/);
  await page.goto(`${server.base}/manager/workflows/${workflowId}`);
  await page.locator('.react-flow__node[data-id="cond"]').waitFor();
  await page.getByTestId("node-cond").getByTestId("flow-condition").waitFor();

  // With the default rule the validator warns that the join can never run.
  const token = (await api.login("flora", "password-1234")).accessToken;
  const warned = async () =>
    (await api.call("GET", `/api/workflows/${workflowId}`, token)).problems.some(
      (p) => p.code === "join_never_runs" && p.nodeId === "report",
    );
  assert.equal(await warned(), true);
  const report = page.locator('.react-flow__node[data-id="report"]');
  await report.click({ position: { x: 40, y: 10 } });
  await page.getByLabel("Runs when").selectOption("none_failed_min_one_success");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("unsaved changes").waitFor({ state: "detached" });
  assert.equal(await warned(), false);

  await page.getByRole("button", { name: "▶ Run" }).click();
  await page.getByTestId("active-run-status").getByText("succeeded").waitFor({ timeout: 60_000 });
  const status = async (id) =>
    page
      .locator(`.react-flow__node[data-id="${id}"] [data-testid="node-${id}"]`)
      .getAttribute("data-run-status");
  assert.equal(await status("cond"), "succeeded");
  assert.equal(await status("high"), "succeeded");
  assert.equal(await status("low"), "skipped");
  assert.equal(await status("report"), "succeeded");
  // A node on the branch not taken says so; it never reads as waiting.
  const detail = (id) =>
    page.getByTestId(`run-node-${id}`).getByTestId("run-node-detail").innerText();
  assert.equal(await detail("low"), "skipped · branch not taken");
  assert.match(await detail("high"), /^\d+(\.\d+)? (ms|s)$/);
  await page.getByTestId("run-node-report").click();
  await page.getByTestId("output-report-which").getByText("high").waitFor();
  // Picking a node in the run list keeps the whole graph in view (no zoom onto it),
  // and the graph was fitted again when the run panel opened under the canvas.
  const canvas = await page.getByTestId("canvas").boundingBox();
  for (const id of ["src", "cond", "high", "low", "report"]) {
    const b = await page.locator(`.react-flow__node[data-id="${id}"]`).boundingBox();
    assert.ok(
      b.x >= canvas.x &&
        b.y >= canvas.y &&
        b.x + b.width <= canvas.x + canvas.width &&
        b.y + b.height <= canvas.y + canvas.height,
      `${id} lies inside the canvas`,
    );
  }
  await screenshot(page, "flow-condition-run");
  await checkA11y(page, "flow-condition-run");

  // The Condition's inspector shows what its expression returned in that run,
  // and completes the fields its `value` input carried.
  await page.locator('.react-flow__node[data-id="cond"]').click({ position: { x: 40, y: 10 } });
  const result = page.getByRole("status", { name: "Result on the last run" });
  await result.getByText("returned true → branch true").waitFor();
  const field = page.getByTestId("expression-editor").locator(".cm-content");
  assert.equal(await field.getAttribute("role"), "textbox");
  await field.click();
  await page.keyboard.press("End");
  await page.keyboard.type(" && value.");
  const options = page.locator(".cm-tooltip-autocomplete [role=option]");
  await options.first().waitFor();
  assert.deepEqual(await options.allInnerTexts(), ["value.amount"]);
  // CodeMirror ignores Enter on a completion list for its first 75 ms
  // (`interactionDelay`), as a person typing on would want; a newline went in.
  await page.waitForTimeout(150);
  await page.keyboard.press("Enter");
  await page.keyboard.type(" < 2000");
  assert.equal(await field.innerText(), "value.amount > 1000 && value.amount < 2000");
  await result.getByText("edited since").waitFor();
  await page.keyboard.type(" && value.");
  await options.first().waitFor();
  await screenshot(page, "flow-condition-autocomplete");
  await page.keyboard.press("Escape");
  await checkA11y(page, "flow-condition-autocomplete");
  await page.context().close();
});
