// The AI assistant in the editor, against a scripted OpenAI-compatible
// server this test starts (real HTTP, Chat Completions with a tool call):
// a sentence becomes a validated proposal shown as a diff over the canvas;
// accepting only edits the draft, and saving stays the user's click.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
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

const CHAT_ANSWER = [
  "Run ",
  "failed at node boom: ",
  "ValueError('no rows in the file'). ",
  "<img src=x onerror=alert(1)> Check the CSV.",
];

/**
 * The chat panel's model: asked on a run's page, it first calls the
 * read-only run tool for the run named in the system message, then
 * streams its answer in pieces, a pause between each.
 */
function streamChat(request, res) {
  res.writeHead(200, { "Content-Type": "text/event-stream" });
  const send = (chunk) => res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  const toolResult = request.messages.find((m) => m.role === "tool");
  if (!toolResult) {
    const runId = Number(/run (\d+)/.exec(request.messages[0].content)?.[1] ?? 0);
    send({
      choices: [
        {
          index: 0,
          delta: {
            role: "assistant",
            tool_calls: [
              {
                index: 0,
                id: "call_run",
                type: "function",
                function: { name: "get_run_status", arguments: JSON.stringify({ runId }) },
              },
            ],
          },
        },
      ],
    });
    send({ choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] });
    res.end("data: [DONE]\n\n");
    return;
  }
  let i = 0;
  const next = () => {
    if (i < CHAT_ANSWER.length) {
      send({ choices: [{ index: 0, delta: { content: CHAT_ANSWER[i++] } }] });
      setTimeout(next, 150);
      return;
    }
    send({ choices: [], usage: { prompt_tokens: 500, completion_tokens: 30 } });
    res.end("data: [DONE]\n\n");
  };
  next();
}

const RULE_TITLE = "Run CSV intake every weekday at nine";

/** The rule-suggestion model: rewords the first suggestion it is given. */
function rankSuggestions(request) {
  const id = /"id":"([^"]+)"/.exec(request.messages[1].content)?.[1];
  const args = {
    suggestions: [{ id, title: RULE_TITLE, text: "You start it by hand each weekday morning." }],
  };
  return {
    id: "chatcmpl-e2e-rules",
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
              id: "call_rank",
              type: "function",
              function: { name: "rank_suggestions", arguments: JSON.stringify(args) },
            },
          ],
        },
      },
    ],
    usage: { prompt_tokens: 400, completion_tokens: 60, total_tokens: 460 },
  };
}

function sql(statements) {
  const u = new URL(process.env.E2E_MYSQL_URL ?? "mysql://root@127.0.0.1:3306");
  const args = ["-h", u.hostname, "-P", u.port || "3306", "-u", u.username || "root"];
  if (u.password) args.push(`-p${decodeURIComponent(u.password)}`);
  return execFileSync("mysql", [...args, "--protocol=tcp", "-N", server.db], {
    input: statements,
  }).toString();
}

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
      if (request.stream) {
        streamChat(request, res);
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" });
      if (request.tools?.[0]?.function.name === "rank_suggestions") {
        res.end(JSON.stringify(rankSuggestions(request)));
        return;
      }
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

/** A workflow whose one node fails, played, and its run's page open as the manager. */
async function openFailedRun(name) {
  const wf = await api.call("POST", "/api/workflows", managerToken, {
    clientId,
    name,
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
  return { run, page };
}

test("a failed run is explained on the run page, labelled AI-generated with its sources", async () => {
  const { page } = await openFailedRun("Broken import");
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

test("the chat panel answers about the run on the page, streamed, through a read-only tool, as inert text", async () => {
  const { run, page } = await openFailedRun("Broken import again");
  const before = received.length;

  await page.getByTestId("ai-chat-toggle").click();
  const panel = page.getByTestId("ai-chat-panel");
  await panel.getByTestId("ai-chat-context").getByText(`About this run (#${run.id})`).waitFor();
  await panel.getByLabel("Your question").fill("Why did this run fail?");
  await panel.getByRole("button", { name: "Send" }).click();
  // The answer shows while it streams: a first piece before the last one.
  const streaming = panel.getByTestId("ai-chat-streaming");
  await streaming.getByText(/failed at node boom/).waitFor();
  assert.ok(!(await streaming.innerText()).includes("Check the CSV"), "still streaming");
  await screenshot(page, "ai-chat-streaming");
  const full = CHAT_ANSWER.join("");
  await panel
    .getByTestId("ai-chat-assistant")
    .getByText("Check the CSV.", { exact: false })
    .waitFor();
  assert.equal(await panel.getByTestId("ai-chat-assistant").innerText(), full);
  // The markup in the answer is text, not an element.
  assert.equal(await panel.locator("img").count(), 0);
  await panel.getByText("read a run's status").waitFor();
  await screenshot(page, "ai-chat-answer");

  // Two model calls: the tool call, then the answer with the run's status
  // read inside the manager's scope.
  const calls = received.slice(before);
  assert.equal(calls.length, 2);
  assert.ok(calls[0].stream && calls[0].tools.some((t) => t.function.name === "get_run_status"));
  const tool = calls[1].messages.find((m) => m.role === "tool");
  assert.match(tool.content, /no rows in the file/);
  // Stored for the manager.
  const list = await api.call("GET", "/api/ai/conversations", managerToken);
  assert.equal(list.items[0].title, "Why did this run fail?");
  await page.context().close();
});

test("a rule suggestion's Create rule opens the trigger editor prefilled; nothing exists until Save", async () => {
  // "CSV intake" played by hand at 09:03 UTC on the last six weekdays.
  const days = [];
  for (let d = 1; days.length < 6; d++) {
    const day = new Date(Date.now() - d * 86_400_000);
    if (day.getUTCDay() % 6 !== 0) days.push(day.toISOString().slice(0, 10));
  }
  const manager = JSON.parse(
    sql("SELECT JSON_OBJECT('id', user_id) FROM app_user WHERE username = 'flora'"),
  ).id;
  sql(
    days
      .map(
        (d) =>
          `INSERT INTO run (workflow_id, workflow_revision, client_id, started_by, status, failure_policy, snapshot, node_states, published, logs_visible_to_client, created_at, started_at, finished_at) VALUES (${workflowId}, 1, ${clientId}, ${manager}, 'succeeded', 'continue', '{"graph":{"nodes":[],"edges":[]},"templates":[]}', '{}', TRUE, FALSE, '${d} 09:03:00', '${d} 09:03:00', '${d} 09:04:00');`,
      )
      .join("\n"),
  );
  const page = await (
    await browser.newContext({ viewport: { width: 1440, height: 900 } })
  ).newPage();
  page.setDefaultTimeout(20_000);
  await signIn(page, server.base, "flora", "password-1234");
  await page.waitForURL(/\/manager$/);
  const cards = page.getByTestId("rule-suggestions");
  const card = cards.locator("li", { hasText: RULE_TITLE });
  await card.waitFor();
  await card.getByText("6 of 30").waitFor();
  await card
    .getByText(/played by hand between 09:00 and 09:59 UTC on 6 of the last 30 days/)
    .waitFor();
  await cards.getByText("AI-generated").waitFor();
  await card.scrollIntoViewIfNeeded();
  await screenshot(page, "ai-rule-suggestions");

  await card.getByRole("button", { name: "Create rule" }).click();
  const form = page.getByTestId("trigger-form");
  await form.waitFor();
  assert.equal(
    await form.getByLabel("Cron expression", { exact: true }).inputValue(),
    "0 9 * * MON-FRI",
  );
  assert.equal(
    await form.getByLabel("Name", { exact: true }).inputValue(),
    "Every weekday at 09:00 UTC",
  );
  assert.ok(await form.getByRole("radio", { name: "Schedule" }).isChecked());
  await screenshot(page, "ai-rule-create-prefilled");
  // Nothing was created by opening the editor.
  const before = await api.call("GET", `/api/workflows/${workflowId}/triggers`, managerToken);
  assert.equal((before.items ?? before).length, 0);
  await form.getByRole("button", { name: /Add trigger|Save/ }).click();
  await form.waitFor({ state: "detached" });
  const after = await api.call("GET", `/api/workflows/${workflowId}/triggers`, managerToken);
  const items = after.items ?? after;
  assert.equal(items.length, 1);
  assert.equal(items[0].config.cron, "0 9 * * MON-FRI");
  assert.equal(items[0].config.timezone, "UTC");
  await page.context().close();
});
