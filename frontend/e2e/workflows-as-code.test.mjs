// Workflows as code in the editor: the Canvas | YAML switch (an edit in the
// YAML reaches the inspector), manifest upload into the draft (a file that
// is no manifest is refused), Import YAML on the manager's list, two saves
// compared (the changed node and its parameter change shown) and one of
// them restored, and a cluster-managed workflow shown read-only. Without a
// cluster on the test machine, the cluster-managed workflow is made by
// marking a stored one as adopted, as the adoption would leave it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  ADMIN_PASSWORD,
  TEMPLATES,
  apiClient,
  launchBrowser,
  screenshot,
  signIn,
  sql,
  startServer,
} from "./harness.mjs";

let server, browser, api, client, workflowId;

const graph = (factor) => ({
  nodes: [
    {
      id: "double_1",
      template: { name: "math.double", version: 1 },
      position: { x: 80, y: 80 },
      params: { factor },
      inputs: { x: 21 },
    },
  ],
  edges: [],
});

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  api = apiClient(server.base);
  const admin = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  await api.call("POST", "/api/templates", admin, TEMPLATES.double);
  const mara = await api.createUser(admin, "mara", "manager");
  client = await api.createUser(admin, "acme", "client");
  await api.call("PUT", `/api/admin/managers/${mara.id}/clients/${client.id}`, admin);
  const w = await api.call("POST", "/api/workflows", await token(), {
    clientId: client.id,
    name: "Doubler",
    graph: graph(2),
  });
  workflowId = w.id;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function token() {
  return (await api.login("mara", "password-1234")).accessToken;
}

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await signIn(page, server.base, "mara", "password-1234");
  await page.waitForURL(/\/manager$/);
  return page;
}

async function openEditor(page, id) {
  await page.goto(`${server.base}/manager/workflows/${id}`);
  await page.locator('.react-flow__node[data-id="double_1"]').waitFor();
}

async function selectNode(page, id) {
  const node = page.locator(`.react-flow__node[data-id="${id}"]`);
  for (let i = 0; i < 5; i++) {
    await node.click({ position: { x: 40, y: 10 } });
    if ((await node.getAttribute("class")).includes("selected")) return;
    await page.waitForTimeout(200);
  }
  assert.fail(`could not select ${id}`);
}

async function factorInInspector(page) {
  await selectNode(page, "double_1");
  const inspector = page.getByRole("complementary", { name: "Inspector" });
  await inspector.getByText("double_1 · math.double v1").waitFor();
  return inspector.getByLabel(/Factor/);
}

/** Waits until the YAML view has parsed the latest text without a mistake. */
async function yamlSettled(page) {
  await page.waitForFunction(
    () => document.querySelector('[data-testid="yaml-status"]')?.dataset.state === "ok",
  );
}

/** Replaces the value at the end of the manifest line matching `line`. */
async function retypeLineEnd(page, line, oldValue, newValue) {
  const row = page.locator(".cm-content .cm-line", { hasText: line });
  await row.click();
  await page.keyboard.press("End");
  for (let i = 0; i < oldValue.length; i++) await page.keyboard.press("Backspace");
  await page.keyboard.type(newValue);
}

async function stored() {
  return api.call("GET", `/api/workflows/${workflowId}`, await token());
}

const factorOf = (w) => w.graph.nodes.find((n) => n.id === "double_1").params.factor;

test("an edit in the YAML view reaches the canvas and the inspector; a mistake shows at its line", async () => {
  const page = await newPage();
  await openEditor(page, workflowId);
  await page.getByTestId("view-yaml").click();
  const view = page.getByTestId("yaml-view");
  await view.locator(".cm-line", { hasText: "factor: 2" }).waitFor();
  await view.locator(".cm-line", { hasText: "katalusis.io/client: acme" }).waitFor();
  await yamlSettled(page);

  await retypeLineEnd(page, "factor: 2", "2", "5");
  await page.getByText("unsaved changes").waitFor();
  await yamlSettled(page);
  await screenshot(page, "yaml-view");

  // A broken line is marked in the gutter and named in the bar; the draft keeps its last good state.
  // (Not a bracket: the editor closes those, and `[5]` is valid YAML.)
  await retypeLineEnd(page, "factor: 5", "5", "5: 6");
  const mistake = page.getByTestId("yaml-mistake");
  await mistake.waitFor();
  assert.match(await mistake.innerText(), /^Line \d+/);
  await page.locator(".cm-lint-marker-error").first().waitFor();
  await screenshot(page, "yaml-view-mistake");
  // Switching right after typing still carries the last keystrokes over.
  await retypeLineEnd(page, "factor: 5: 6", "5: 6", "6");
  await page.getByTestId("view-canvas").click();
  assert.equal(await (await factorInInspector(page)).inputValue(), "6");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("Saved revision 2.").waitFor();
  assert.equal(factorOf(await stored()), 6);
  assert.equal((await stored()).revision, 2);
  await page.context().close();
});

test("a manifest file loads into the draft; a file that is none is refused", async () => {
  const page = await newPage();
  await openEditor(page, workflowId);
  const manifest = await api.call("GET", `/api/workflows/${workflowId}/manifest`, await token());
  assert.match(manifest.yaml, /factor: 6/);
  const edited = manifest.yaml
    .replace("factor: 6", "factor: 7")
    .replace(/displayName: .*/, "displayName: Doubler from Git");
  assert.notEqual(edited, manifest.yaml);

  // Download gives the draft's manifest under its resource name.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download YAML" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `${manifest.name}.yaml`);
  const chunks = [];
  for await (const c of await download.createReadStream()) chunks.push(c);
  assert.equal(Buffer.concat(chunks).toString("utf8"), manifest.yaml);

  const input = page.getByTestId("yaml-upload");
  await input.setInputFiles({
    name: "notes.yaml",
    mimeType: "application/yaml",
    buffer: Buffer.from("shopping:\n  - milk\n"),
  });
  await page.getByText(/notes\.yaml is not a Workflow manifest/).waitFor();
  // Judged by content: a PNG named .yaml is refused before any request.
  await input.setInputFiles({
    name: "picture.yaml",
    mimeType: "application/yaml",
    buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]),
  });
  await page.getByText(/picture\.yaml is not a Workflow manifest.*binary/).waitFor();
  await page.getByTestId("workflow-title").getByText("Doubler", { exact: true }).waitFor();

  await input.setInputFiles({
    name: `${manifest.name}.txt`,
    mimeType: "text/plain",
    buffer: Buffer.from(edited),
  });
  await page.getByText(`Loaded ${manifest.name}.txt into the draft. Save to keep it.`).waitFor();
  await page.getByTestId("workflow-title").getByText("Doubler from Git").waitFor();
  assert.equal(await (await factorInInspector(page)).inputValue(), "7");
  await screenshot(page, "yaml-upload-loaded");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("Saved revision 3.").waitFor();
  const saved = await stored();
  assert.equal(saved.name, "Doubler from Git");
  assert.equal(factorOf(saved), 7);
  await page.context().close();
});

test("two revisions are compared, the changed parameter listed, and one restored", async () => {
  const page = await newPage();
  await openEditor(page, workflowId);
  const factor = await factorInInspector(page);
  await factor.fill("9");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("Saved revision 4.").waitFor();

  await page.getByRole("button", { name: "History" }).click();
  const history = page.getByRole("dialog", { name: "Revision history" });
  await history.getByTestId("revision-3").waitFor();
  await history.getByRole("checkbox", { name: "Compare revision 4" }).check();
  await history.getByRole("checkbox", { name: "Compare revision 3" }).check();
  await history.getByTestId("compare-revisions").click();

  const compare = page.getByRole("dialog", { name: "Compare revision 3 with revision 4" });
  await compare.getByTestId("revision-compare").waitFor();
  const node = compare.getByTestId("compare-node-double_1");
  await node.waitFor();
  assert.equal(await node.getAttribute("data-diff"), "changed");
  assert.equal(await compare.getByTestId("change-double_1").getAttribute("data-state"), "changed");
  const change = compare.getByTestId("field-change-double_1-params.factor");
  assert.match(await change.innerText(), /params\.factor:\s*7\s*→\s*9/);
  assert.match(await compare.getByTestId("compare-summary").innerText(), /0 added, 1 changed/);
  const diff = compare.getByTestId("code-diff");
  assert.match(await diff.innerText(), /-\s+factor: 7/);
  assert.match(await diff.innerText(), /\+\s+factor: 9/);
  await page.waitForTimeout(300);
  await screenshot(page, "revision-compare");

  await compare.getByTestId("compare-restore-3").click();
  await page.getByText("Restored revision 3 into the editor. Save to keep it.").waitFor();
  await page.getByText("unsaved changes").waitFor();
  assert.equal(await (await factorInInspector(page)).inputValue(), "7");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("Saved revision 5.").waitFor();
  const saved = await stored();
  assert.equal(saved.revision, 5);
  assert.equal(factorOf(saved), 7);
  await page.context().close();
});

test("Import YAML on the manager's list creates a workflow and opens it", async () => {
  const page = await newPage();
  const manifest = await api.call("GET", `/api/workflows/${workflowId}/manifest`, await token());
  const text = manifest.yaml
    .replace(/^ {2}name: .*$/m, "  name: doubler-copy")
    .replace(/displayName: .*/, "displayName: Imported doubler");
  assert.match(text, /name: doubler-copy/);
  await page.getByTestId("import-manifest").setInputFiles({
    name: "doubler-copy.yaml",
    mimeType: "application/yaml",
    buffer: Buffer.from(text),
  });
  await page.waitForURL(/\/manager\/workflows\/\d+$/);
  const id = Number(page.url().split("/").pop());
  assert.notEqual(id, workflowId);
  await page.getByTestId("workflow-title").getByText("Imported doubler").waitFor();
  await page.locator('.react-flow__node[data-id="double_1"]').waitFor();
  await page.context().close();
});

test("a cluster-managed workflow is badged, read-only, refuses saves and can be copied", async () => {
  const w = await api.call("POST", "/api/workflows", await token(), {
    clientId: client.id,
    name: "Doubler in Git",
    graph: graph(4),
  });
  sql(
    server.db,
    `UPDATE workflow SET source = 'cluster', resource_namespace = 'katalusis', resource_name = 'doubler-in-git' WHERE workflow_id = ${Number(w.id)}`,
  );
  const seen = await api.call("GET", `/api/workflows/${w.id}`, await token());
  assert.equal(seen.source, "cluster");
  assert.equal(seen.editable, false);

  const page = await newPage();
  const row = page.getByTestId("client-acme").getByRole("link", { name: /Doubler in Git/ });
  await row.getByTestId("managed-badge").waitFor();
  await page.getByTestId("client-acme").scrollIntoViewIfNeeded();
  await screenshot(page, "workflows-list-managed");
  assert.equal(
    await page
      .getByTestId("client-acme")
      .getByRole("link", { name: /^Doubler from Git/ })
      .getByTestId("managed-badge")
      .count(),
    0,
  );
  await row.click();
  await page.locator('.react-flow__node[data-id="double_1"]').waitFor();
  await page.getByTestId("managed-notice").waitFor();
  assert.match(await page.getByTestId("managed-notice").innerText(), /katalusis\/doubler-in-git/);
  await page.getByTestId("managed-badge").waitFor();
  assert.equal(await page.getByTestId("palette-math.double").count(), 0, "no palette");
  assert.ok(await (await factorInInspector(page)).isDisabled(), "the inspector is read-only");
  assert.ok(await page.getByRole("button", { name: "Save", exact: true }).isDisabled());
  await page.getByTestId("view-yaml").click();
  await page
    .getByTestId("yaml-view")
    .locator(".cm-line", { hasText: "name: doubler-in-git" })
    .waitFor();
  assert.equal(
    await page.getByTestId("yaml-view").locator(".cm-content").getAttribute("contenteditable"),
    "false",
  );
  await screenshot(page, "cluster-managed-editor");

  // The server refuses a save that goes around the read-only editor.
  const refused = await fetch(`${server.base}/api/workflows/${w.id}`, {
    method: "PUT",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${await token()}` },
    body: JSON.stringify({ revision: 1, name: "x", description: "", graph: graph(5) }),
  });
  assert.equal(refused.status, 409);
  assert.equal((await refused.json()).error.code, "workflow_managed_in_cluster");

  await page.getByRole("button", { name: "Copy to a UI-managed workflow" }).click();
  await page.waitForURL((url) => !url.pathname.endsWith(`/${w.id}`));
  const copyId = Number(page.url().split("/").pop());
  await page.locator('.react-flow__node[data-id="double_1"]').waitFor();
  assert.equal(await page.getByTestId("managed-notice").count(), 0);
  const copy = await api.call("GET", `/api/workflows/${copyId}`, await token());
  assert.equal(copy.source, "ui");
  assert.equal(copy.editable, true);
  assert.equal(factorOf(copy), 4);
  await page.context().close();
});

test("a save refused because the workflow became cluster-managed says so and keeps the draft", async () => {
  const w = await api.call("POST", "/api/workflows", await token(), {
    clientId: client.id,
    name: "Adopted meanwhile",
    graph: graph(3),
  });
  const page = await newPage();
  await openEditor(page, w.id);
  await (await factorInInspector(page)).fill("8");
  // Applied in the cluster while the editor was open.
  sql(
    server.db,
    `UPDATE workflow SET source = 'cluster', resource_namespace = 'katalusis', resource_name = 'adopted-meanwhile' WHERE workflow_id = ${Number(w.id)}`,
  );
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText(/^Not saved: this workflow is managed in the cluster/).waitFor();
  assert.equal(
    await page.getByRole("dialog", { name: "This workflow changed elsewhere" }).count(),
    0,
    "not mistaken for a revision conflict",
  );
  await page.getByText("unsaved changes").waitFor();
  assert.equal(await (await factorInInspector(page)).inputValue(), "8");
  const after = await api.call("GET", `/api/workflows/${w.id}`, await token());
  assert.equal(after.revision, 1);
  assert.equal(factorOf(after), 3);
  await page.context().close();
});

test("an admin turns on write-back, and cluster-managed workflows become editable", async () => {
  const w = await api.call("POST", "/api/workflows", await token(), {
    clientId: client.id,
    name: "Written back",
    graph: graph(6),
  });
  sql(
    server.db,
    `UPDATE workflow SET source = 'cluster', resource_namespace = 'katalusis', resource_name = 'written-back' WHERE workflow_id = ${Number(w.id)}`,
  );
  assert.equal((await api.call("GET", `/api/workflows/${w.id}`, await token())).editable, false);

  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await signIn(page, server.base, "admin", ADMIN_PASSWORD);
  await page.waitForURL(/\/admin/);
  await page.goto(`${server.base}/admin/settings`);
  const section = page.getByTestId("cluster-workflow-settings");
  const box = section.getByRole("checkbox", { name: "Write browser edits back to the cluster" });
  await box.waitFor();
  assert.equal(await box.isChecked(), false, "off by default");
  // A click saves at once (the box follows the stored value).
  await box.click();
  await page.getByText(/now written to the cluster/).waitFor();
  assert.equal(await box.isChecked(), true);
  await section.scrollIntoViewIfNeeded();
  await screenshot(page, "admin-cluster-write-back");
  assert.equal((await api.call("GET", `/api/workflows/${w.id}`, await token())).editable, true);
  await page.reload();
  await section.getByRole("checkbox").waitFor();
  assert.equal(await section.getByRole("checkbox").isChecked(), true, "stored");
  await section.getByRole("checkbox").click();
  await page.getByText(/now read-only in the browser/).waitFor();
  assert.equal((await api.call("GET", `/api/workflows/${w.id}`, await token())).editable, false);
  await context.close();
});
