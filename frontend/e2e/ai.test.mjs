// The AI assistant in the editor, against a scripted OpenAI-compatible
// server this test starts (real HTTP, Chat Completions with a tool call):
// a sentence becomes a validated proposal shown as a diff over the canvas;
// accepting only edits the draft, and saving stays the user's click.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import {
  ADMIN_PASSWORD,
  apiClient,
  launchBrowser,
  screenshot,
  signIn,
  startServer,
} from "./harness.mjs";

const SENTENCE =
  "when a CSV is imported create a task for each row, ask the manager to approve critical ones, then notify the client";

const node = (id, name, x, y, extra = {}) => ({
  id,
  template: { name, version: 1 },
  position: { x, y },
  params: {},
  ...extra,
});
const edge = (source, sourcePort, target, targetPort) => ({
  source,
  sourcePort,
  target,
  targetPort,
});

/** What the scripted model proposes (it keeps `rows` and drops `shout`). */
const PROPOSAL = {
  nodes: [
    { id: "rows", template: { name: "csv.rows", version: 1 } },
    {
      id: "task",
      template: { name: "flow.task", version: 1 },
      label: "Task per row",
      params: { title: "Row {{ value.id }}" },
    },
    {
      id: "critical",
      template: { name: "flow.condition", version: 1 },
      label: "Critical?",
      params: { expression: "value.priority == 'critical'" },
    },
    {
      id: "approve",
      template: { name: "flow.approval", version: 1 },
      label: "Manager approves",
      params: { approvers: "flora" },
    },
    {
      id: "notify",
      template: { name: "flow.notification", version: 1 },
      label: "Notify the client",
      params: { recipients: "fjord", subject: "Your import was processed" },
    },
  ],
  edges: [
    edge("rows", "rows", "task", "value"),
    edge("task", "value", "critical", "value"),
    edge("critical", "true", "approve", "value"),
    edge("approve", "approved", "notify", "value"),
  ],
};

const EXPLANATION =
  "The run failed at node boom: it raised ValueError('no rows in the file'), so nothing after it ran.";

let server, browser, api, llm, workflowId, managerToken, clientId;
const received = [];

/** A minimal Chat Completions server: every call gets the proposal as a tool call. */
function startScriptedModel() {
  const srv = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const request = JSON.parse(body);
      received.push(request);
      res.writeHead(200, { "Content-Type": "application/json" });
      if (!request.tools) {
        res.end(
          JSON.stringify({
            id: "chatcmpl-e2e-summary",
            object: "chat.completion",
            model: "scripted",
            choices: [
              {
                index: 0,
                finish_reason: "stop",
                message: { role: "assistant", content: EXPLANATION },
              },
            ],
            usage: { prompt_tokens: 700, completion_tokens: 40, total_tokens: 740 },
          }),
        );
        return;
      }
      res.end(
        JSON.stringify({
          id: "chatcmpl-e2e",
          object: "chat.completion",
          model: "scripted",
          choices: [
            {
              index: 0,
              finish_reason: "tool_calls",
              message: {
                role: "assistant",
                content: null,
                tool_calls: [
                  {
                    id: "call_1",
                    type: "function",
                    function: { name: "propose_workflow", arguments: JSON.stringify(PROPOSAL) },
                  },
                ],
              },
            },
          ],
          usage: { prompt_tokens: 2000, completion_tokens: 300, total_tokens: 2300 },
        }),
      );
    });
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve(srv)));
}

before(async () => {
  llm = await startScriptedModel();
  server = await startServer({
    KATALUSIS_LLM_BASE_URL: `http://127.0.0.1:${llm.address().port}/v1`,
    KATALUSIS_LLM_MODEL: "scripted",
  });
  browser = await launchBrowser();
  api = apiClient(server.base);
  const admin = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  const manager = await api.createUser(admin, "flora", "manager");
  const client = await api.createUser(admin, "fjord", "client");
  await api.call("PUT", `/api/admin/managers/${manager.id}/clients/${client.id}`, admin);
  clientId = client.id;
  await api.call("POST", "/api/templates", admin, {
    name: "csv.rows",
    title: "CSV rows",
    description: "The rows of an imported CSV file",
    category: "e2e",
    code: "def run(inputs, params, ctx):\n    return {'rows': []}\n",
    outputs: [{ name: "rows", type: "array" }],
  });
  await api.call("POST", "/api/templates", admin, {
    name: "text.shout",
    title: "Shout",
    category: "e2e",
    code: "def run(inputs, params, ctx):\n    return {'text': inputs['text'].upper()}\n",
    inputs: [{ name: "text", type: "string", required: true }],
    outputs: [{ name: "text", type: "string" }],
  });
  await api.call("POST", "/api/templates", admin, {
    name: "csv.fail",
    title: "Failing step",
    category: "e2e",
    code: "def run(inputs, params, ctx):\n    raise ValueError('no rows in the file')\n",
    outputs: [{ name: "rows", type: "array" }],
  });
  managerToken = (await api.login("flora", "password-1234")).accessToken;
  const wf = await api.call("POST", "/api/workflows", managerToken, {
    clientId: client.id,
    name: "CSV intake",
    graph: {
      nodes: [
        node("rows", "csv.rows", 0, 100),
        node("shout", "text.shout", 300, 100, { inputs: { text: "draft" } }),
      ],
      edges: [],
    },
  });
  workflowId = wf.id;
});

after(async () => {
  await browser?.close();
  await server?.stop();
  llm?.close();
});

test("a sentence becomes a validated proposal shown as a diff; accepting edits the draft, saving stays the user's", async () => {
  const page = await (
    await browser.newContext({ viewport: { width: 1440, height: 900 } })
  ).newPage();
  page.setDefaultTimeout(15_000);
  await signIn(page, server.base, "flora", "password-1234");
  await page.waitForURL(/\/manager$/);
  await page.goto(`${server.base}/manager/workflows/${workflowId}`);
  await page.locator('.react-flow__node[data-id="shout"]').waitFor();

  await page.getByRole("button", { name: "Ask AI" }).click();
  await page.getByLabel("Describe the workflow").fill(SENTENCE);
  await page.getByRole("button", { name: "Propose" }).click();
  const diff = page.getByTestId("ai-proposal");
  await diff.waitFor();
  await diff.getByText("AI-generated").waitFor();
  const state = (id) => page.getByTestId(`ai-node-${id}`).getAttribute("data-diff");
  assert.equal(await state("rows"), "same");
  for (const id of ["task", "critical", "approve", "notify"])
    assert.equal(await state(id), "added");
  assert.equal(await state("shout"), "removed");
  await diff.getByText("4 new").waitFor();
  // The whole proposal is in view (fitted once the overlay has its size).
  await page.waitForTimeout(400);
  const box = await diff.boundingBox();
  for (const id of ["rows", "task", "critical", "approve", "notify", "shout"]) {
    const b = await page.getByTestId(`ai-node-${id}`).boundingBox();
    assert.ok(b.x >= box.x && b.x + b.width <= box.x + box.width, `${id} is in view`);
  }
  await screenshot(page, "ai-proposal-diff");

  // The model saw the sentence and the draft; nothing was saved yet.
  assert.equal(received.length, 1);
  assert.equal(received[0].messages.at(-1).content, SENTENCE);
  assert.match(received[0].messages[0].content, /text\.shout/);
  const before = await api.call("GET", `/api/workflows/${workflowId}`, managerToken);
  assert.equal(before.revision, 1);
  assert.deepEqual(
    before.graph.nodes.map((n) => n.id),
    ["rows", "shout"],
  );

  await diff.getByRole("button", { name: "Accept into draft" }).click();
  await diff.waitFor({ state: "detached" });
  await page.locator('.react-flow__node[data-id="approve"]').waitFor();
  assert.equal(await page.locator('.react-flow__node[data-id="shout"]').count(), 0);
  await page.getByText("unsaved changes").waitFor();
  // Still only the draft: the stored workflow is unchanged until Save.
  assert.equal((await api.call("GET", `/api/workflows/${workflowId}`, managerToken)).revision, 1);
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("unsaved changes").waitFor({ state: "detached" });
  const saved = await api.call("GET", `/api/workflows/${workflowId}`, managerToken);
  assert.equal(saved.revision, 2);
  assert.deepEqual(saved.graph.nodes.map((n) => n.id).sort(), [
    "approve",
    "critical",
    "notify",
    "rows",
    "task",
  ]);
  assert.equal(saved.problems.filter((p) => p.severity === "error").length, 0);
  await screenshot(page, "ai-proposal-accepted");
  await page.context().close();
});

test("a failed run is explained on the run page, labelled AI-generated with its sources", async () => {
  const wf = await api.call("POST", "/api/workflows", managerToken, {
    clientId,
    name: "Broken import",
    graph: { nodes: [node("boom", "csv.fail", 0, 0)], edges: [] },
  });
  const run = await api.call("POST", `/api/workflows/${wf.id}/runs`, managerToken, {
    mode: "sync",
  });
  const page = await (
    await browser.newContext({ viewport: { width: 1440, height: 900 } })
  ).newPage();
  page.setDefaultTimeout(20_000);
  await signIn(page, server.base, "flora", "password-1234");
  await page.waitForURL(/\/manager$/);
  await page.goto(`${server.base}/manager/runs/${run.id}`);
  await page.getByTestId("run-node-boom").getByText("failed").waitFor({ timeout: 60_000 });
  const before = received.length;
  await page.getByRole("button", { name: "Explain this run" }).click();
  const summary = page.getByTestId("ai-summary-run");
  await summary.getByText("AI-generated").waitFor();
  assert.equal(await summary.getByTestId("ai-summary-text").innerText(), EXPLANATION);
  await summary.getByText(/Sources: run \d+, node boom/).waitFor();
  // The model got the failed node's reason and log tail, and no tools.
  const asked = received[before];
  assert.equal(asked.tools, undefined);
  assert.match(asked.messages[1].content, /boom/);
  assert.match(asked.messages[1].content, /no rows in the file/);
  await screenshot(page, "ai-explain-run");
  await page.context().close();
});
