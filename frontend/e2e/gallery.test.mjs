// The workflow template gallery and the editor's Triggers panel: a manager
// makes a workflow from a shipped template (a missing value is refused next
// to its field), runs it until a second manager approves; runs the daily
// digest by hand into a recipient's bell; has a task put on hold open a
// follow-up task; then schedules another one and adds a webhook whose URL
// and key are shown exactly once.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
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

const SHIPPED = ["Approve high-value rows", "Daily digest", "Escalate tasks put on hold"];
let server, browser, api, client;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  api = apiClient(server.base);
  const admin = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  // The shipped templates are built from the starter library's nodes.
  await api.call("POST", "/api/admin/library/starter", admin, {});
  const mara = await api.createUser(admin, "mara", "manager");
  const noah = await api.createUser(admin, "noah", "manager");
  client = await api.createUser(admin, "cleo", "client");
  for (const m of [mara, noah])
    await api.call("PUT", `/api/admin/managers/${m.id}/clients/${client.id}`, admin);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newPage() {
  // A zone other than the templates' UTC, so both readings of a time show.
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    timezoneId: "Europe/Berlin",
    locale: "en-GB",
  });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.base });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

/** Weekday and time of an instant in a zone, e.g. `Fri 17:30`. */
function wallClock(iso, timeZone) {
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    weekday: "short",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(iso));
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("weekday")} ${get("hour")}:${get("minute")}`;
}

const token = async (who) => (await api.login(who, "password-1234")).accessToken;

async function workflowsOf(who) {
  return (await api.call("GET", `/api/workflows?clientId=${client.id}`, await token(who))).items;
}

async function openGallery(page) {
  await page
    .getByRole("navigation", { name: "Main" })
    .getByRole("link", { name: "Templates" })
    .click();
  await page.waitForURL(/\/manager\/templates$/);
  await page.getByTestId("template-gallery").waitFor();
}

const card = (page, name) => page.getByRole("article", { name });

test("a manager makes a workflow from a shipped template and runs it through an approval", async () => {
  const page = await newPage();
  await signIn(page, server.base, "mara", "password-1234");
  await page.waitForURL(/\/manager$/);
  await openGallery(page);

  for (const name of SHIPPED) {
    await card(page, name).waitFor();
    assert.equal(await card(page, name).getByText("shipped", { exact: true }).count(), 1);
  }
  const approve = card(page, "Approve high-value rows");
  for (const kind of ["Condition", "Approval", "Notification", "csv.read", "table.filter"])
    await approve.getByText(kind, { exact: true }).waitFor();
  assert.equal(await approve.getByTestId("graph-preview").locator("rect").count(), 6);
  assert.equal(await approve.getByTestId("graph-preview").locator("path").count(), 5);
  await card(page, "Daily digest").getByText("Schedule", { exact: true }).waitFor();
  await card(page, "Escalate tasks put on hold").getByText("Event", { exact: true }).waitFor();
  // Nobody deletes a shipped template.
  assert.equal(await page.getByRole("button", { name: /^Delete template/ }).count(), 0);
  await screenshot(page, "gallery");

  await approve.getByRole("button", { name: "Use template Approve high-value rows" }).click();
  const form = page.getByTestId("instantiate-form");
  await form.getByLabel("Client").selectOption({ label: "Cleo" });
  await form.getByLabel("Workflow name").fill("Payout approvals");
  // The default is filled in; the people are not.
  assert.equal(await form.getByLabel("Filter").inputValue(), "amount > 1000");
  await form.getByLabel("Tell").fill("mara");
  await form.getByRole("button", { name: "Create workflow" }).click();
  const missing = form.getByTestId("param-approvers").getByRole("alert");
  await missing.waitFor();
  assert.equal(await missing.innerText(), "Approvers is required");
  assert.equal(await form.getByLabel("Approvers").getAttribute("aria-invalid"), "true");
  assert.equal((await workflowsOf("mara")).length, 0, "a refused form creates nothing");
  await screenshot(page, "gallery-instantiate-422");

  // The suggestion fills in the second manager's username.
  await form.getByTestId("param-approvers").getByRole("button", { name: /@noah/ }).click();
  assert.equal(await form.getByLabel("Approvers").inputValue(), "noah");
  await form.getByRole("button", { name: "Create workflow" }).click();
  await page.waitForURL(/\/manager\/workflows\/\d+$/);
  const workflowId = Number(page.url().split("/").pop());
  await page.getByTestId("workflow-title").getByText("Payout approvals").waitFor();
  for (const id of ["rows", "high", "any", "approve", "approved", "rejected"])
    await page.locator(`.react-flow__node[data-id="${id}"]`).waitFor();
  assert.equal(await page.locator(".react-flow__edge").count(), 5);
  const stored = await api.call("GET", `/api/workflows/${workflowId}`, await token("mara"));
  const param = (node, name) => stored.graph.nodes.find((n) => n.id === node).params[name];
  assert.equal(param("approve", "approvers"), "noah");
  assert.equal(param("approved", "recipients"), "mara");
  assert.equal(param("rejected", "recipients"), "mara");
  await screenshot(page, "gallery-editor-instantiated");

  await page.getByRole("button", { name: "▶ Run" }).click();
  const status = page.getByTestId("active-run-status");
  await status.getByText("waiting").waitFor({ timeout: 60_000 });
  const runId = Number(
    (await page.getByRole("tab", { name: /^Run #\d+/ }).innerText()).match(/#(\d+)/)[1],
  );
  await api.call("POST", `/api/runs/${runId}/nodes/approve/decision`, await token("noah"), {
    verdict: "approve",
  });
  await status.getByText("succeeded").waitFor({ timeout: 60_000 });
  const run = await api.call("GET", `/api/runs/${runId}`, await token("mara"));
  const node = (id) => run.nodes.find((n) => n.id === id);
  assert.equal(node("approved").status, "succeeded");
  assert.equal(node("rejected").status, "skipped");
  await page.context().close();
});

test("a scheduled template also runs by hand and its digest reaches the recipient's bell", async () => {
  const page = await newPage();
  await signIn(page, server.base, "mara", "password-1234");
  await page.waitForURL(/\/manager$/);
  await openGallery(page);
  await card(page, "Daily digest")
    .getByRole("button", { name: "Use template Daily digest" })
    .click();
  const form = page.getByTestId("instantiate-form");
  await form.getByLabel("Client").selectOption({ label: "Cleo" });
  await form.getByLabel("Workflow name").fill("Morning digest");
  await form.getByLabel("Recipients").fill("noah");
  await form.getByRole("button", { name: "Create workflow" }).click();
  await page.waitForURL(/\/manager\/workflows\/\d+$/);
  await page.getByTestId("workflow-title").getByText("Morning digest").waitFor();
  for (const id of ["summary", "send"])
    await page.locator(`.react-flow__node[data-id="${id}"]`).waitFor();

  // The schedule is not the only way in: Run starts it now.
  await page.getByRole("button", { name: "▶ Run" }).click();
  const status = page.getByTestId("active-run-status");
  await status.getByText("succeeded").waitFor({ timeout: 60_000 });
  const cardStatus = (id) =>
    page.locator(`[data-testid="node-${id}"]`).getAttribute("data-run-status");
  assert.equal(await cardStatus("summary"), "succeeded");
  assert.equal(await cardStatus("send"), "succeeded");
  const runId = Number(
    (await page.getByRole("tab", { name: /^Run #\d+/ }).innerText()).match(/#(\d+)/)[1],
  );
  const run = await api.call("GET", `/api/runs/${runId}`, await token("mara"));
  assert.equal(run.status, "succeeded");
  await screenshot(page, "gallery-digest-run");
  await page.context().close();

  const noah = await newPage();
  await signIn(noah, server.base, "noah", "password-1234");
  await noah.waitForURL(/\/manager$/);
  await noah.getByTestId("client-cleo").waitFor();
  await noah.getByTestId("unread-count").waitFor();
  await noah.getByTestId("notification-bell").click();
  const notice = noah.locator('[data-testid="notification"][data-kind="workflow"]');
  await notice.waitFor();
  assert.equal(await notice.count(), 1);
  assert.match(await notice.innerText(), /^Daily digest: Good morning, the team/);
  assert.match(await notice.innerText(), /Workflow notifications/);
  await screenshot(noah, "gallery-digest-notification");
  // The sender is not among the recipients.
  const maras = await api.call("GET", "/api/notifications", await token("mara"));
  assert.equal(
    maras.items.some((n) => n.title.startsWith("Daily digest")),
    false,
  );
  await noah.context().close();
});

test("a task put on hold is escalated into a follow-up task for its owner", async () => {
  const page = await newPage();
  await signIn(page, server.base, "mara", "password-1234");
  await page.waitForURL(/\/manager$/);
  await openGallery(page);
  await card(page, "Escalate tasks put on hold")
    .getByRole("button", { name: "Use template Escalate tasks put on hold" })
    .click();
  const form = page.getByTestId("instantiate-form");
  await form.getByLabel("Client").selectOption({ label: "Cleo" });
  await form.getByLabel("Workflow name").fill("Escalations");
  assert.equal(await form.getByLabel("When a task reaches").inputValue(), "On Hold");
  await form.getByLabel("Follow-up owner").fill("noah");
  await form.getByLabel("Tell").fill("mara");
  await form.getByRole("button", { name: "Create workflow" }).click();
  await page.waitForURL(/\/manager\/workflows\/\d+$/);
  const workflowId = Number(page.url().split("/").pop());
  await page.locator('.react-flow__node[data-id="follow_up"]').waitFor();

  // The task is made and put on hold on the board, as a manager does it.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tasks" }).click();
  await page.waitForURL(/\/manager\/tasks/);
  const column = (p, name) => p.locator(`section[data-status="${name}"]`);
  const taskCard = (p, title) => p.getByTestId("task-card").filter({ hasText: title });
  const add = column(page, "New");
  await add.getByRole("button", { name: "+ Add task" }).click();
  await add.getByLabel("New task in New").fill("Renew the lease");
  await add.getByLabel("New task in New").press("Enter");
  await taskCard(page, "Renew the lease").waitFor();
  const key = (await taskCard(page, "Renew the lease").getAttribute("aria-label")).split(":")[0];
  assert.match(key, /^[A-Z0-9]+-\d+$/);
  // Dragged to On Hold on the board (a move fires event triggers like an edit).
  const t = await token("mara");
  const [made] = (await api.call("GET", "/api/tasks?q=Renew", t)).items;
  assert.equal(made.key, key);
  await taskCard(page, "Renew the lease").dragTo(column(page, "On Hold"));
  await column(page, "On Hold").getByText("Renew the lease").waitFor();

  // The event ran the workflow; its run is in the editor's run history.
  const followUp = `Unblock ${key}: Renew the lease`;
  await taskCard(page, followUp).waitFor({ timeout: 60_000 });
  await page.goto(`${server.base}/manager/workflows/${workflowId}`);
  await page.locator('.react-flow__node[data-id="follow_up"]').waitFor();
  await page.getByRole("tab", { name: "Runs", exact: true }).click();
  const history = page.getByRole("region", { name: "Runs of this workflow" });
  const entry = history.getByRole("button").filter({ hasText: /^#\d+/ });
  await entry.filter({ hasText: "succeeded" }).waitFor({ timeout: 60_000 });
  assert.equal(await entry.count(), 1, "one status change, one run");
  await entry.click();
  await page.getByTestId("active-run-status").getByText("succeeded").waitFor();
  for (const id of ["follow_up", "tell"])
    assert.equal(
      await page.locator(`[data-testid="node-${id}"]`).getAttribute("data-run-status"),
      "succeeded",
    );
  await page.context().close();

  // The owner finds the follow-up on the board, assigned to them.
  const noah = await newPage();
  await signIn(noah, server.base, "noah", "password-1234");
  await noah.waitForURL(/\/manager$/);
  await noah.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tasks" }).click();
  await noah.waitForURL(/\/manager\/tasks/);
  await taskCard(noah, followUp).getByText("#escalation").waitFor();
  await column(noah, "On Hold").getByText("Renew the lease").waitFor();
  await screenshot(noah, "gallery-escalation");
  await taskCard(noah, followUp).click();
  const drawer = noah.getByTestId("task-drawer");
  await drawer.getByRole("button", { name: "Unassign Noah" }).waitFor();
  await drawer.getByText(`${key} was put on hold. Find out what blocks it.`).waitFor();
  const [task] = (
    await api.call("GET", `/api/tasks?q=${encodeURIComponent("Unblock")}`, await token("noah"))
  ).items;
  assert.equal(task.title, followUp);
  assert.equal(task.clientId, client.id);
  await noah.context().close();
});

test("the Triggers panel schedules a workflow and shows a new webhook's URL and key once", async () => {
  const page = await newPage();
  await signIn(page, server.base, "mara", "password-1234");
  await page.waitForURL(/\/manager$/);
  // "New from template" on the client's card preselects the client.
  await page.getByTestId("client-cleo").getByRole("link", { name: "New from template" }).click();
  await page.waitForURL(/\/manager\/templates\?client=\d+$/);
  await card(page, "Daily digest")
    .getByRole("button", { name: "Use template Daily digest" })
    .click();
  const form = page.getByTestId("instantiate-form");
  assert.equal(await form.getByLabel("Client").inputValue(), String(client.id));
  assert.equal(await form.getByLabel("Schedule").inputValue(), "0 8 * * MON-FRI");
  await form.getByLabel("Recipients").fill("mara");
  await form.getByRole("button", { name: "Create workflow" }).click();
  await page.waitForURL(/\/manager\/workflows\/\d+$/);
  const workflowId = Number(page.url().split("/").pop());
  await page.locator('.react-flow__node[data-id="send"]').waitFor();

  await page.getByRole("button", { name: "Triggers", exact: true }).click();
  const panel = page.getByTestId("triggers-panel");
  // The template brought its own schedule.
  await panel.getByRole("listitem", { name: "Every weekday morning" }).waitFor();

  await panel.getByRole("button", { name: "+ Add trigger" }).click();
  let dialog = page.getByTestId("trigger-form");
  await dialog.getByLabel("Name", { exact: true }).fill("Friday report");
  // A wrong expression is caught before it is sent.
  await dialog.getByLabel("Cron expression", { exact: true }).fill("30 17 * FRI");
  await dialog.getByRole("button", { name: "Add trigger" }).click();
  await dialog.getByText("Needs five fields").waitFor();
  // One the server refuses comes back next to the same field.
  await dialog.getByLabel("Cron expression", { exact: true }).fill("30 25 * * FRI");
  await dialog.getByRole("button", { name: "Add trigger" }).click();
  const cronError = dialog
    .getByLabel("Cron expression", { exact: true })
    .locator("xpath=..")
    .getByRole("alert");
  await cronError.waitFor();
  assert.doesNotMatch(await cronError.innerText(), /Needs five fields/);
  await dialog.getByLabel("Cron expression", { exact: true }).fill("30 17 * * FRI");
  await dialog.getByLabel("Time zone", { exact: true }).selectOption("America/New_York");
  await dialog.getByRole("button", { name: "Add trigger" }).click();
  await dialog.waitFor({ state: "detached" });

  const friday = panel.getByRole("listitem", { name: "Friday report" });
  const upcoming = friday.getByTestId("upcoming").getByRole("listitem");
  await upcoming.first().waitFor();
  assert.equal(await upcoming.count(), 5);
  for (const item of await upcoming.all()) {
    const iso = await item.locator("time").getAttribute("datetime");
    // Each instant is a Friday at 17:30 in New York, shown first in Berlin, the browser's zone.
    assert.equal(wallClock(iso, "America/New_York"), "Fri 17:30");
    const text = (await item.textContent()).replace(/\s+/g, " ");
    assert.ok(text.startsWith(`${wallClock(iso, "Europe/Berlin").slice(0, 3)} `), text);
    assert.match(text, new RegExp(`, ${wallClock(iso, "Europe/Berlin").slice(4)} CES?T ?· `));
    assert.match(text, / 17:30 (EST|EDT|GMT-[45])$/);
  }
  const stored = await api.call(
    "GET",
    `/api/workflows/${workflowId}/triggers`,
    await token("mara"),
  );
  const saved = stored.find((t) => t.name === "Friday report");
  assert.deepEqual(
    { cron: saved.config.cron, timezone: saved.config.timezone, enabled: saved.enabled },
    { cron: "30 17 * * FRI", timezone: "America/New_York", enabled: true },
  );
  await screenshot(page, "triggers-schedule");
  await checkA11y(page, "triggers-panel");

  // Pausing a schedule is one click and clears its upcoming times.
  await friday.getByRole("switch", { name: "Enabled: Friday report" }).click();
  await friday.getByText("Paused: no upcoming times.").waitFor();
  assert.equal(
    await friday
      .getByRole("switch", { name: "Enabled: Friday report" })
      .getAttribute("aria-checked"),
    "false",
  );

  // The template's own schedule is edited in the same form.
  const morning = panel.getByRole("listitem", { name: "Every weekday morning" });
  await morning.getByRole("button", { name: "Edit Every weekday morning" }).click();
  dialog = page.getByTestId("trigger-form");
  assert.equal(await dialog.getByRole("radio").count(), 0, "the kind cannot change");
  await dialog
    .getByLabel("Common schedules")
    .selectOption({ label: "Every day at 08:00 (0 8 * * *)" });
  assert.equal(
    await dialog.getByLabel("Cron expression", { exact: true }).inputValue(),
    "0 8 * * *",
  );
  await dialog.getByRole("button", { name: "Save trigger" }).click();
  await dialog.waitFor({ state: "detached" });
  await morning.getByText("0 8 * * * in UTC").waitFor();

  // An event trigger: a task of the client reaching a status.
  await panel.getByRole("button", { name: "+ Add trigger" }).click();
  dialog = page.getByTestId("trigger-form");
  await dialog.getByRole("radio", { name: "Event" }).check();
  await dialog.getByLabel("When", { exact: true }).selectOption("task_status_changed");
  await dialog.getByRole("button", { name: "Add trigger" }).click();
  await dialog.getByText("Choose the status that fires the trigger.").waitFor();
  await dialog.getByLabel("Status", { exact: true }).selectOption("On Hold");
  await dialog.getByLabel("Event goes into").selectOption("summary.values");
  await dialog.getByRole("button", { name: "Add trigger" }).click();
  await dialog.waitFor({ state: "detached" });
  await panel
    .getByRole("listitem", { name: "Event" })
    .getByText("when a task reaches On Hold, into summary.values")
    .waitFor();

  await panel.getByRole("button", { name: "+ Add trigger" }).click();
  dialog = page.getByTestId("trigger-form");
  await dialog.getByRole("radio", { name: "Webhook" }).check();
  assert.equal(await dialog.getByLabel("Name", { exact: true }).inputValue(), "Webhook");
  await dialog.getByLabel("Name", { exact: true }).fill("Orders hook");
  await dialog.getByLabel("Calls per minute", { exact: true }).fill("30");
  await dialog.getByRole("button", { name: "+ Add an input" }).click();
  await dialog.getByLabel("Input 1", { exact: true }).selectOption("summary.values");
  await dialog.getByLabel("JSON pointer 1", { exact: true }).fill("/values");
  await screenshot(page, "triggers-webhook-form");
  await dialog.getByRole("button", { name: "Add trigger" }).click();

  const once = page.getByRole("dialog", { name: "Your new webhook" });
  await once.getByText("You will not see this again.").waitFor();
  const url = await once.getByTestId("webhook-url").inputValue();
  const key = await once.getByTestId("webhook-key").inputValue();
  assert.match(url, new RegExp(`^${server.base}/api/hooks/[0-9a-f]{32,}$`));
  assert.match(key, /^[0-9a-f]{32,}$/);
  await once.getByRole("button", { name: "Copy Webhook URL" }).click();
  await once.getByText("Webhook URL copied to the clipboard.").waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
  await screenshot(page, "triggers-webhook-once");
  await once.getByRole("button", { name: "I have copied them" }).click();
  await once.waitFor({ state: "detached" });
  await panel.getByRole("listitem", { name: "Orders hook" }).waitFor();
  const token_ = url.split("/").pop();
  assert.equal((await page.content()).includes(token_), false, "the URL is gone from the page");

  // The URL and key work: a signed call starts a run with the mapped input.
  const body = JSON.stringify({ values: { team: "the night shift" } });
  const signature = createHmac("sha256", key).update(body).digest("hex");
  const r = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Katalusis-Signature": `sha256=${signature}` },
    body,
  });
  assert.equal(r.status, 202, await r.clone().text());
  const { runId } = await r.json();

  // After a reload the secret is still nowhere, and the firing is in the history.
  await page.reload();
  await page.getByRole("button", { name: "Triggers", exact: true }).click();
  const hook = panel.getByRole("listitem", { name: "Orders hook" });
  await hook.getByTestId("last-firing").getByText("started").waitFor();
  assert.equal((await page.content()).includes(token_), false);
  await hook.getByRole("button", { name: "History of Orders hook" }).click();
  const history = page.getByRole("dialog", { name: "History of “Orders hook”" });
  await history.getByRole("button", { name: `#${runId}` }).click();
  await page.getByRole("tab", { name: new RegExp(`^Run #${runId}`) }).waitFor();
  await page.getByTestId("active-run-status").getByText("succeeded").waitFor({ timeout: 60_000 });
  await page.context().close();
});

test("saved templates stay private unless an admin shares them; owners delete theirs", async () => {
  const mara = await token("mara");
  const templates = await api.call("GET", "/api/workflow-templates", mara);
  const digest = templates.find((t) => t.name === "Daily digest");
  const { workflowId } = await api.call(
    "POST",
    `/api/workflow-templates/${digest.id}/instantiate`,
    mara,
    { clientId: client.id, name: "Team digest", values: { recipients: "mara" } },
  );

  const page = await newPage();
  await signIn(page, server.base, "mara", "password-1234");
  await page.waitForURL(/\/manager$/);
  await page.goto(`${server.base}/manager/workflows/${workflowId}`);
  await page.locator('.react-flow__node[data-id="send"]').waitFor();
  await page.getByRole("button", { name: "Save as template" }).click();
  const dialog = page.getByRole("dialog", { name: "Save as template" });
  assert.equal(await dialog.getByLabel("Template name").inputValue(), "Team digest");
  assert.equal(
    await dialog.getByLabel("Share with all managers").count(),
    0,
    "managers cannot share",
  );
  await dialog.getByLabel("Template name").fill("My digest");
  await dialog.getByLabel("Description").fill("The digest for my team.");
  await dialog.getByRole("button", { name: "Save template" }).click();
  const saved = page.getByTestId("saved-template");
  await saved.getByText("is in the gallery for you only").waitFor();
  await saved.getByRole("link", { name: "Open the gallery" }).click();
  await page.waitForURL(/\/manager\/templates$/);
  const mine = card(page, "My digest");
  await mine.getByText("mine", { exact: true }).waitFor();
  await mine.getByText("The digest for my team.").waitFor();
  assert.equal(
    (await api.call("GET", "/api/workflow-templates", await token("noah"))).some(
      (t) => t.name === "My digest",
    ),
    false,
    "another manager does not see a private template",
  );
  await mine.getByRole("button", { name: "Delete template My digest" }).click();
  await page
    .getByRole("dialog", { name: "Delete “My digest”?" })
    .getByRole("button", { name: "Delete template" })
    .click();
  await mine.waitFor({ state: "detached" });
  await page.context().close();

  // An admin shares a template from the list of all workflows; every manager sees it.
  const admin = await newPage();
  await signIn(admin, server.base, "admin", ADMIN_PASSWORD);
  await admin.waitForURL(/\/admin\/users$/);
  await admin.goto(`${server.base}/admin/workflows`);
  await admin.getByRole("button", { name: "Save as template: Team digest" }).click();
  const share = admin.getByRole("dialog", { name: "Save as template" });
  await share.getByLabel("Template name").fill("Shared digest");
  await share.getByLabel("Share with all managers").check();
  await share.getByRole("button", { name: "Save template" }).click();
  await admin.getByTestId("saved-template").getByText("for every manager").waitFor();
  await admin.getByRole("button", { name: "Done" }).click();
  // Admins reach the gallery from the list of all workflows.
  await admin.getByRole("link", { name: "Workflow templates" }).click();
  await admin.waitForURL(/\/admin\/templates$/);
  const shared = card(admin, "Shared digest");
  await shared.getByText("shared", { exact: true }).waitFor();
  await shared.getByText("mine", { exact: true }).waitFor();
  const seen = (await api.call("GET", "/api/workflow-templates", await token("noah"))).find(
    (t) => t.name === "Shared digest",
  );
  assert.equal(seen?.shared, true);

  // The admin makes a workflow from it for the client, chosen from every client.
  await shared.getByRole("button", { name: "Use template Shared digest" }).click();
  const form = admin.getByTestId("instantiate-form");
  await form.getByLabel("Client").selectOption({ label: "Cleo" });
  await form.getByLabel("Workflow name").fill("Digest by admin");
  await form.getByRole("button", { name: "Create workflow" }).click();
  const banner = admin.getByTestId("created-banner");
  await banner.getByText("Created “Digest by admin”.").waitFor();
  assert.equal(await admin.getByTestId("toast-success").count(), 0);
  assert.ok((await workflowsOf("mara")).some((w) => w.name === "Digest by admin"));
  await screenshot(admin, "gallery-admin");
  await banner.getByRole("link", { name: "See its runs" }).click();
  await admin.waitForURL(/\/admin\/runs\?workflowId=\d+$/);
  await admin.context().close();
});
