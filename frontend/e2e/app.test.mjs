// The admin → manager → client story in real Chromium against the real API server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ADMIN_PASSWORD,
  TEMPLATES,
  apiClient,
  launchBrowser,
  screenshot,
  signIn,
  startServer,
} from "./harness.mjs";

const MOD = process.platform === "darwin" ? "Meta" : "Control";
let server, browser, api, adminToken;

before(async () => {
  server = await startServer({
    KATALUSIS_LOGIN_MAX_FAILURES: "3",
    KATALUSIS_LOGIN_LOCKOUT_SECONDS: "120",
  });
  browser = await launchBrowser();
  api = apiClient(server.base);
  adminToken = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return page;
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
async function connect(page, from, fromPort, to, toPort, { release = true } = {}) {
  const a = await handleCenter(page, from, `out:${fromPort}`);
  const b = await handleCenter(page, to, `in:${toPort}`);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x, b.y, { steps: 5 });
  if (release) await page.mouse.up();
}

/** Clicks a node's header; retried because the view may still be animating towards another node. */
async function selectNode(page, id) {
  const node = page.locator(`.react-flow__node[data-id="${id}"]`);
  for (let i = 0; i < 5; i++) {
    await node.click({ position: { x: 40, y: 10 } });
    if ((await node.getAttribute("class")).includes("selected")) return;
    await page.waitForTimeout(200);
  }
  assert.fail(`could not select ${id}`);
}

/** Presses the mouse on `from`, moves in steps onto `to` and releases (HTML drag and drop). */
async function dragWithMouse(page, from, to) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  assert.ok(a && b, "drag source and target visible");
  await page.mouse.move(a.x + 20, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(a.x + 40, a.y + a.height / 2, { steps: 3 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 });
  await page.mouse.up();
}

async function dropFromPalette(page, templateName, x, y) {
  const canvas = await page.getByTestId("canvas").boundingBox();
  await page.getByTestId(`palette-${templateName}`).dragTo(page.getByTestId("canvas"), {
    targetPosition: { x: x - canvas.x, y: y - canvas.y },
  });
}

describe("every role", () => {
  test("login shows plain errors and the lockout's retry time", async () => {
    const page = await newPage();
    await signIn(page, server.base, "ghost", "wrong-password-1");
    await page.getByTestId("login-error").waitFor();
    assert.match(
      await page.getByTestId("login-error").innerText(),
      /username or password is not correct/,
    );
    for (let i = 0; i < 3; i++) await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText(/Sign-in is locked/).waitFor();
    assert.match(await page.getByTestId("login-error").innerText(), /Retry in \d+/);
    assert.equal(await page.getByRole("button", { name: "Sign in" }).isDisabled(), true);
    await page.context().close();
  });

  test("signed-out visitors are sent to the login page and API paths stay JSON", async () => {
    const page = await newPage();
    await page.goto(`${server.base}/manager/workflows/1`);
    await page.waitForURL(/\/login\?next=%2Fmanager%2Fworkflows%2F1$/);
    const r = await fetch(`${server.base}/api/no-such-thing`);
    assert.equal(r.status, 404);
    assert.equal((await r.json()).error.code, "not_found");
    await page.context().close();
  });
});

describe("admin → manager → client", () => {
  let workflowId;

  test("admin creates a manager, a client, the assignment and node templates in the UI", async () => {
    const page = await newPage();
    await signIn(page, server.base, "admin", ADMIN_PASSWORD);
    await page.waitForURL(/\/admin\/users$/);
    for (const [username, role] of [
      ["maria", "manager"],
      ["acme", "client"],
    ]) {
      await page.getByRole("button", { name: "New user" }).click();
      const dialog = page.getByRole("dialog");
      await dialog.getByLabel("Display name").fill(username === "maria" ? "Maria" : "Acme Corp");
      await dialog.getByLabel("Username").fill(username);
      await dialog.getByLabel("Role").selectOption(role);
      await dialog.getByLabel("Email").fill(`${username}@example.com`);
      await dialog.getByLabel("Initial password").fill("password-1234");
      await dialog.getByRole("button", { name: "Create user" }).click();
      await page.getByText(`Created ${role} ${username}.`).waitFor();
      await page.getByTestId(`user-row-${username}`).waitFor();
    }
    // A server-side refusal shows the server's message.
    await page.getByRole("button", { name: "New user" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Display name").fill("Dup");
    await dialog.getByLabel("Username").fill("maria");
    await dialog.getByLabel("Email").fill("other@example.com");
    await dialog.getByLabel("Initial password").fill("password-1234");
    await dialog.getByRole("button", { name: "Create user" }).click();
    await page.getByTestId("toast-error").waitFor();
    assert.match(await page.getByTestId("toast-error").innerText(), /exists|taken|already/i);
    await page.keyboard.press("Escape");
    await screenshot(page, "admin-users");

    await page.getByRole("link", { name: "Assignments" }).click();
    await page.getByRole("option", { name: /Maria/ }).click();
    await page.getByLabel(/Acme Corp/).check();
    await page.getByText("Acme Corp assigned to Maria.").waitFor();
    await page.getByRole("button", { name: "Managers of this client" }).click();
    await page.getByTestId("managers-of-client").getByText("Maria").waitFor();

    await page.getByRole("link", { name: "Node library" }).click();
    await page.getByText("No node types yet — install the starter library or create one").waitFor();
    await page.getByRole("button", { name: "New node" }).click();
    await page.getByLabel("Name", { exact: true }).fill("text.upper");
    await page.getByLabel("Title").fill("Uppercase");
    await page.getByLabel("Category").fill("text");
    await page.getByRole("tab", { name: /Inputs & outputs/ }).click();
    await page.getByLabel("Inputs 1 name").fill("text");
    await page.getByLabel("Outputs 1 name").fill("text");
    await page.getByRole("tab", { name: "Code" }).click();
    await page.locator(".cm-content").click();
    await page.keyboard.press(`${MOD}+a`);
    await page.keyboard.press("Delete");
    await page
      .locator(".cm-content")
      .fill(
        'def run(inputs, params, ctx):\n    ctx.log("shouting " + inputs["text"])\n    return {"text": inputs["text"].upper()}\n',
      );
    await page.getByRole("button", { name: "Create node" }).click();
    await page.getByText("Saved text.upper v1.").waitFor();
    await page.waitForURL(/\/admin\/library\/text\.upper$/);

    // A node image that is not on the allow-list is refused, the reason next to the field.
    await page.getByRole("tab", { name: "Runtime & limits" }).click();
    await page.getByLabel("Container image").fill("registry.example/nodes/x:1");
    await page.getByRole("button", { name: "Save new version" }).click();
    await page
      .getByText(/no node images are allowed/)
      .first()
      .waitFor();
    await page.getByLabel("Container image").fill("");
    await page.getByRole("tab", { name: "Code" }).click();

    // A second version, then the history shows the code diff.
    await page.locator(".cm-content").click();
    await page.keyboard.press(`${MOD}+End`);
    await page.keyboard.type("# v2\n");
    await page.getByRole("button", { name: "Save new version" }).click();
    await page.getByText("Saved text.upper v2.").waitFor();
    await page.getByRole("tab", { name: "Version history" }).click();
    await page.getByRole("button", { name: /^v2/ }).click();
    await page.getByText("Code changes in v2 compared with v1").waitFor();
    const diff = await page.getByTestId("code-diff").innerText();
    assert.match(diff, /\+ # v2/);
    await screenshot(page, "admin-template");

    // Test node: the saved version runs once in its sandbox; outputs and logs come back.
    await page.getByRole("tab", { name: "Test node" }).click();
    const testPanel = page.getByTestId("test-node");
    await testPanel.getByLabel(/^text/).fill("hello from the test");
    await testPanel.getByRole("button", { name: "▶ Run test" }).click();
    const result = page.getByTestId("test-result");
    await result.getByText("succeeded").waitFor({ timeout: 30_000 });
    await result.getByTestId("output-test-text").getByText("HELLO FROM THE TEST").waitFor();
    await result.getByTestId("test-logs").getByText("shouting hello from the test").waitFor();
    await screenshot(page, "admin-template-test");
    // A failing sample shows the error and the node's traceback.
    await testPanel.getByLabel(/^text/).fill("");
    await testPanel.getByRole("button", { name: "▶ Run test" }).click();
    await testPanel.getByText("is required", { exact: true }).waitFor();
    await page.context().close();

    // The second template (number in, number out) is seeded through the API.
    await api.call("POST", "/api/templates", adminToken, TEMPLATES.double);
  });

  test("manager builds a workflow by drag and drop, is refused a bad connection, undoes, copies and saves", async () => {
    const page = await newPage();
    await signIn(page, server.base, "maria", "password-1234");
    await page.waitForURL(/\/manager$/);
    await page.getByTestId("client-acme").getByRole("button", { name: "New workflow" }).click();
    await page.getByRole("dialog").getByLabel("Name").fill("Shout");
    await page.getByRole("button", { name: "Create and open editor" }).click();
    await page.waitForURL(/\/manager\/workflows\/\d+$/);
    workflowId = Number(page.url().split("/").pop());
    await page.getByTestId("palette-text.upper").waitFor();

    await dropFromPalette(page, "text.upper", 450, 250);
    await dropFromPalette(page, "text.upper", 850, 250);
    await dropFromPalette(page, "math.double", 850, 520);
    await page.locator(".react-flow__node").nth(2).waitFor();
    assert.equal(await page.locator(".react-flow__node").count(), 3);

    // string → number is refused, with the reason shown while hovering and after release.
    await connect(page, "upper_1", "text", "double_1", "x", { release: false });
    const hint = await page.getByTestId("connection-refusal").innerText();
    assert.match(hint, /Incompatible types: string output cannot feed number input/);
    await page.mouse.up();
    await page.getByTestId("connection-refused").waitFor();
    assert.equal(await page.locator(".react-flow__edge").count(), 0);

    await connect(page, "upper_1", "text", "upper_2", "text");
    await page.locator(".react-flow__edge").first().waitFor();
    assert.equal(await page.locator(".react-flow__edge").count(), 1);
    // A second edge into the same input is refused too.
    await connect(page, "upper_2", "text", "upper_2", "text");
    assert.equal(await page.locator(".react-flow__edge").count(), 1);

    // Missing required input on upper_1 and double_1: listed as problems.
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="problem-count"]')?.textContent?.startsWith("2 "),
    );
    const problemText = await page.locator("[data-testid=problem-item]").allInnerTexts();
    assert.ok(
      problemText.some((t) => /Required input 'text'.*upper_1/s.test(t)),
      problemText.join("\n"),
    );
    // Clicking a problem selects its node; fix it in the inspector.
    await page.locator("[data-testid=problem-item]", { hasText: "upper_1" }).click();
    const inspector = page.getByRole("complementary", { name: "Inspector" });
    await inspector.getByText("upper_1 · text.upper v2").waitFor();
    await inspector.getByLabel(/^text/).fill("hello");
    await selectNode(page, "double_1");
    await inspector.getByText("double_1 · math.double v1").waitFor();
    await inspector.getByLabel(/^x/).fill("21");
    await inspector.getByLabel(/Factor/).fill("3");
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="problem-count"]')?.textContent?.startsWith("0 "),
    );

    // Undo/redo with the keyboard: undo the factor and x edits (x becomes missing again), redo both.
    await page.locator(".react-flow__pane").click({ position: { x: 20, y: 20 } });
    await page.keyboard.press(`${MOD}+z`);
    await page.keyboard.press(`${MOD}+z`);
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="problem-count"]')?.textContent?.startsWith("1 "),
    );
    await page.keyboard.press(MOD === "Meta" ? "Meta+Shift+z" : "Control+y");
    await page.keyboard.press(`${MOD}+Shift+z`);
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="problem-count"]')?.textContent?.startsWith("0 "),
    );

    // Copy/paste: select upper_2, copy, paste → a fourth node; undo removes it.
    await selectNode(page, "upper_2");
    await page.keyboard.press(`${MOD}+c`);
    await page.keyboard.press(`${MOD}+v`);
    await page.locator('.react-flow__node[data-id="upper_3"]').waitFor();
    assert.equal(await page.locator(".react-flow__node").count(), 4);
    await page.keyboard.press(`${MOD}+z`);
    await page.locator('.react-flow__node[data-id="upper_3"]').waitFor({ state: "detached" });
    await page.keyboard.press(`${MOD}+a`);
    assert.equal(await page.locator(".react-flow__node.selected").count(), 3);
    await page.locator(".react-flow__pane").click({ position: { x: 20, y: 20 } });

    await page.getByRole("button", { name: "Layout" }).click();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText(/Saved revision 2\./).waitFor();
    const saved = await api.call(
      "GET",
      `/api/workflows/${workflowId}`,
      (await api.login("maria", "password-1234")).accessToken,
    );
    assert.equal(saved.revision, 2);
    assert.equal(saved.graph.nodes.length, 3);
    assert.deepEqual(
      saved.graph.edges.map((e) => `${e.source}.${e.sourcePort}->${e.target}.${e.targetPort}`),
      ["upper_1.text->upper_2.text"],
    );
    assert.equal(saved.graph.nodes.find((n) => n.id === "double_1").params.factor, 3);
    assert.deepEqual(saved.problems, []);
    await screenshot(page, "manager-editor");
    await page.context().close();
  });

  test("a save over a changed workflow offers reload or overwrite; restore is undoable; leaving asks first", async () => {
    const page = await newPage();
    await signIn(page, server.base, "maria", "password-1234");
    await page.waitForURL(/\/manager$/);
    await page.goto(`${server.base}/manager/workflows/${workflowId}`);
    await page.locator('.react-flow__node[data-id="upper_1"]').waitFor();
    // Someone else saves revision 3 meanwhile.
    const token = (await api.login("maria", "password-1234")).accessToken;
    const current = await api.call("GET", `/api/workflows/${workflowId}`, token);
    await api.call("PUT", `/api/workflows/${workflowId}`, token, {
      revision: current.revision,
      name: "Shout louder",
      description: "",
      graph: current.graph,
    });

    await selectNode(page, "upper_2");
    await page.keyboard.press("Delete");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "This workflow changed elsewhere" });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /revision 3/);
    await dialog.getByRole("button", { name: "Reload their version" }).click();
    await page.getByTestId("workflow-title").getByText("Shout louder").waitFor();
    assert.equal(await page.locator(".react-flow__node").count(), 3);
    const after = await api.call("GET", `/api/workflows/${workflowId}`, token);
    assert.equal(after.revision, 3, "nothing was overwritten");

    // Restoring revision 1 (the empty graph) is an undoable edit, and leaving asks first.
    await page.getByRole("button", { name: "History" }).click();
    const history = page.getByRole("dialog", { name: "Revision history" });
    await history.getByText("r1").waitFor();
    await history.locator("li", { hasText: "r1" }).getByRole("button", { name: "Restore" }).click();
    await page.locator(".react-flow__node").first().waitFor({ state: "detached" });
    await page.getByText("unsaved changes").waitFor();
    await page.getByRole("button", { name: "←" }).click();
    const leave = page.getByRole("dialog", { name: "Leave without saving?" });
    await leave.waitFor();
    await leave.getByRole("button", { name: "Stay" }).click();
    await leave.waitFor({ state: "detached" });
    assert.match(page.url(), new RegExp(`/manager/workflows/${workflowId}$`));
    await page.keyboard.press(`${MOD}+z`);
    await page.locator('.react-flow__node[data-id="upper_1"]').waitFor();
    assert.equal(await page.locator(".react-flow__node").count(), 3);
    await page.context().close();
  });

  let runId;

  test("manager presses Run and watches every node succeed, with logs and outputs", async () => {
    const page = await newPage();
    await signIn(page, server.base, "maria", "password-1234");
    await page.waitForURL(/\/manager$/);
    await page.goto(`${server.base}/manager/workflows/${workflowId}`);
    await page.locator('.react-flow__node[data-id="upper_1"]').waitFor();
    await page.getByRole("button", { name: "▶ Run" }).click();
    await page
      .locator('[data-testid="node-double_1"][data-run-status="running"]')
      .waitFor({ timeout: 30_000 });
    await screenshot(page, "manager-editor-mid-run");
    await page.getByTestId("active-run-status").getByText("succeeded").waitFor({ timeout: 60_000 });
    runId = Number(
      (await page.getByRole("tab", { name: /Run #\d+/ }).innerText()).match(/#(\d+)/)[1],
    );
    for (const id of ["upper_1", "upper_2", "double_1"]) {
      assert.equal(
        await page
          .locator(`.react-flow__node[data-id="${id}"] [data-testid="node-${id}"]`)
          .getAttribute("data-run-status"),
        "succeeded",
        id,
      );
    }
    await page.getByTestId("run-node-upper_2").click();
    await page.getByTestId("output-upper_2-text").getByText("HELLO").waitFor();
    await page.getByTestId("run-node-double_1").click();
    await page.getByTestId("output-double_1-y").getByText("63").waitFor();
    await page.getByRole("tab", { name: "logs" }).click();
    await page.getByTestId("run-node-upper_1").click();
    await page.getByTestId("run-logs").getByText("shouting hello").waitFor();
    await page.getByRole("tab", { name: "timeline" }).click();
    await page.getByTestId("run-timeline").waitFor();
    // The time-per-node chart (uPlot, loaded on demand) draws one bar per node.
    await page.getByTestId("node-durations-chart").locator("canvas").waitFor();
    const bars = await page
      .getByRole("list", { name: "Time per node" })
      .locator("li")
      .allInnerTexts();
    assert.deepEqual(bars.map((b) => b.split(":")[0]).sort(), ["double_1", "upper_1", "upper_2"]);
    await screenshot(page, "manager-editor-run");
    await page.getByRole("tab", { name: "Runs" }).click();
    await page
      .getByRole("region", { name: "Runs of this workflow" })
      .getByText(`#${runId}`, { exact: true })
      .waitFor();
    // The clients page shows each workflow's latest run.
    await page.goto(`${server.base}/manager`);
    await page.getByTestId(`latest-run-${workflowId}`).getByText("succeeded").waitFor();
    await screenshot(page, "manager-clients");
    await page.context().close();
  });

  test("client sees only their own published runs, reads the result, and is sent away from /manager and /admin", async () => {
    const page = await newPage();
    await signIn(page, server.base, "acme", "password-1234");
    await page.waitForURL(/\/client$/);
    // Another client's published run exists but is nowhere to be seen.
    const mariaToken = (await api.login("maria", "password-1234")).accessToken;
    const other = await api.createUser(adminToken, "globex", "client");
    const maria = (await api.call("GET", "/api/admin/users?q=maria", adminToken)).items[0];
    await api.call("PUT", `/api/admin/managers/${maria.id}/clients/${other.id}`, adminToken);
    const otherWf = await api.call("POST", "/api/workflows", mariaToken, {
      clientId: other.id,
      name: "Globex secret",
      graph: {
        nodes: [
          {
            id: "a",
            template: { name: "text.upper", version: 2 },
            inputs: { text: "x" },
            params: {},
          },
        ],
        edges: [],
      },
    });
    const otherRun = await api.call("POST", `/api/workflows/${otherWf.id}/runs`, mariaToken, {
      mode: "sync",
    });
    await page.getByRole("heading", { name: "My results" }).waitFor();
    await page.getByTestId(`client-run-${runId}`).getByText("succeeded").waitFor();
    await page.getByRole("link", { name: `#${runId}` }).click();
    await page.getByTestId("run-node-upper_2").click();
    await page.getByTestId("output-upper_2-text").getByText("HELLO").waitFor();
    // Logs are not shared with clients by default, and there are no editing controls.
    assert.equal(await page.getByRole("tab", { name: "logs" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: /Run|Save|Cancel/ }).count(), 0);
    await screenshot(page, "client-run");
    await page.getByRole("link", { name: "← My results" }).click();
    await page.getByTestId(`client-run-${runId}`).waitFor();
    assert.equal(await page.getByTestId(`client-run-${otherRun.id}`).count(), 0);
    await page.goto(`${server.base}/client/runs/${otherRun.id}`);
    await page
      .getByRole("alert")
      .getByText(/not found/i)
      .waitFor();
    await page.goto(`${server.base}/manager`);
    await page.waitForURL(/\/client$/);
    await page.goto(`${server.base}/admin/users`);
    await page.waitForURL(/\/client$/);
    assert.equal(await page.getByRole("link", { name: "Node library" }).count(), 0);
    await page.getByTestId(`client-run-${runId}`).waitFor();
    await screenshot(page, "client-results");
    await page.context().close();
  });

  test("admin drags a client between the assignment lists with the mouse and it persists", async () => {
    const initech = await api.createUser(adminToken, "initech", "client");
    const maria = (await api.call("GET", "/api/admin/users?q=maria", adminToken)).items[0];
    const clientsOfMaria = async () =>
      (await api.call("GET", `/api/admin/managers/${maria.id}/clients`, adminToken)).map(
        (c) => c.username,
      );
    const page = await newPage();
    await signIn(page, server.base, "admin", ADMIN_PASSWORD);
    await page.waitForURL(/\/admin\/users$/);
    await page.goto(`${server.base}/admin/assignments`);
    await page.getByRole("option", { name: /Maria/ }).click();
    const assignedList = page.getByTestId("assigned-clients");
    const otherList = page.getByTestId("other-clients");

    await dragWithMouse(page, otherList.getByTestId("client-initech"), assignedList);
    await page.getByText("Initech assigned to Maria.").waitFor();
    await page.reload();
    await page.getByRole("option", { name: /Maria/ }).click();
    await assignedList.getByTestId("client-initech").waitFor();
    assert.equal(await assignedList.getByLabel(/Initech/).isChecked(), true);
    assert.ok((await clientsOfMaria()).includes("initech"));

    // And back: dropped on the other list, the assignment is removed.
    await dragWithMouse(page, assignedList.getByTestId("client-initech"), otherList);
    await page.getByText("Initech unassigned from Maria.").waitFor();
    await page.reload();
    await page.getByRole("option", { name: /Maria/ }).click();
    await otherList.getByTestId("client-initech").waitFor();
    assert.ok(!(await clientsOfMaria()).includes("initech"));
    assert.ok((await clientsOfMaria()).includes("acme"));
    await screenshot(page, "admin-assignments");
    await page.context().close();
    assert.ok(initech.id);
  });

  test("an expired access token is refreshed silently, once, for concurrent requests", async () => {
    const page = await newPage();
    await signIn(page, server.base, "admin", ADMIN_PASSWORD);
    await page.waitForURL(/\/admin\/users$/);
    const before = await page.evaluate(() => JSON.parse(localStorage.getItem("katalusis.session")));
    // Break the access token: every request of the next page gets 401 and must refresh.
    await page.evaluate(() => {
      const s = JSON.parse(localStorage.getItem("katalusis.session"));
      s.tokens.accessToken = "not-a-valid-token";
      localStorage.setItem("katalusis.session", JSON.stringify(s));
    });
    await page.goto(`${server.base}/admin/assignments`);
    await page.getByRole("option", { name: /Maria/ }).waitFor();
    const afterRefresh = await page.evaluate(() =>
      JSON.parse(localStorage.getItem("katalusis.session")),
    );
    assert.notEqual(afterRefresh.tokens.refreshToken, before.tokens.refreshToken);
    // The rotated session still works (a reused refresh token would have ended it).
    await page.goto(`${server.base}/admin/users`);
    await page.getByTestId("user-row-maria").waitFor();
    assert.match(page.url(), /\/admin\/users$/);

    // Sign out ends the session on the server too.
    await page.getByTestId("account-menu").click();
    await page.getByRole("menuitem", { name: "Sign out" }).click();
    await page.waitForURL(/\/login$/);
    const r = await fetch(`${server.base}/api/auth/me`, {
      headers: { Authorization: `Bearer ${afterRefresh.tokens.accessToken}` },
    });
    assert.equal(r.status, 401);
    await page.context().close();
  });
});
