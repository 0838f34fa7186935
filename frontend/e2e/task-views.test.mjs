// Task views beyond the board: the list (multi-select, bulk edit and its
// per-task refusals), the timeline (dragging a bar's end moves the due date),
// board swimlanes, the drawer's watch / comment edit / attachment delete,
// and the admin task settings page (a renamed status and a new transition
// show on the board). Axe runs in every screenshot().
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  ADMIN_PASSWORD,
  apiClient,
  launchBrowser,
  screenshot,
  signIn,
  startServer,
} from "./harness.mjs";

const DAY = 86_400_000;
let server, browser, api, adminToken, miaToken, acme, mia;
const tasks = {};

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  api = apiClient(server.base);
  adminToken = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  mia = await api.createUser(adminToken, "mia", "manager");
  acme = await api.createUser(adminToken, "acme", "client");
  await api.call("PUT", `/api/admin/managers/${mia.id}/clients/${acme.id}`, adminToken);
  miaToken = (await api.login("mia", "password-1234")).accessToken;
  const due = new Date(Math.floor(Date.now() / DAY) * DAY + 5 * DAY + 17 * 3600_000);
  for (const [i, title] of ["Alpha report", "Beta review", "Gamma audit", "Delta fix"].entries()) {
    tasks[title] = await api.call("POST", "/api/tasks", miaToken, {
      clientId: acme.id,
      title,
      priority: ["low", "medium", "high", "low"][i],
      dueAt: new Date(due.getTime() + i * DAY).toISOString(),
      assigneeIds: i % 2 ? [acme.id] : [mia.id],
    });
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

async function eventually(check, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const get = (id, token = adminToken) => api.call("GET", `/api/tasks/${id}`, token);
const column = (page, name) => page.locator(`section[data-status="${name}"]`).first();
const card = (page, title) => page.getByTestId("task-card").filter({ hasText: title });

describe("task views", () => {
  test("list: multi-select, bulk edit, refusals named per task", async () => {
    const page = await newPage();
    await signIn(page, server.base, "mia", "password-1234");
    await page.waitForURL(/\/manager/);
    await page.goto(`${server.base}/manager/tasks?view=list&sort=key`);
    const rows = page.getByTestId("list-row");
    await eventually(async () => assert.equal(await rows.count(), 4));
    // Names, not ids: the assignee avatars carry the people's names.
    await page.getByTestId("task-list").getByLabel(/Mia/).first().waitFor();

    await page.getByLabel(`Select ${tasks["Alpha report"].key}`).click();
    await page.getByLabel(`Select ${tasks["Gamma audit"].key}`).click({ modifiers: ["Shift"] });
    await page.getByText("3 selected:").waitFor();
    await page.getByLabel("Set priority").selectOption("critical");
    await page.getByLabel("Set tags").fill("q3, ops");
    await page.getByRole("button", { name: "Apply to 3" }).click();
    await page.getByText("3 tasks changed.").waitFor();
    for (const t of ["Alpha report", "Beta review", "Gamma audit"]) {
      const now = await get(tasks[t].id);
      assert.equal(now.priority, "critical", t);
      assert.deepEqual(now.tags, ["ops", "q3"], t);
    }
    assert.equal((await get(tasks["Delta fix"].id)).priority, "low");

    // New → Completed is not an allowed transition: nothing changes, each task is named.
    await page.getByLabel(`Select ${tasks["Alpha report"].key}`).click();
    await page.getByLabel(`Select ${tasks["Delta fix"].key}`).click();
    await page.getByLabel("Set status").selectOption({ label: "Completed" });
    await page.getByRole("button", { name: "Apply to 2" }).click();
    const failures = page.getByTestId("bulk-failures");
    await failures.getByText(tasks["Alpha report"].key).waitFor();
    await failures.getByText(tasks["Delta fix"].key).waitFor();
    assert.equal((await get(tasks["Alpha report"].id)).statusId, 1);
    await screenshot(page, "tasks-list");

    // The sort is a header button and lives in the URL.
    await page.getByRole("button", { name: /^Due/ }).click();
    await page.waitForURL(/sort=due_asc/);
    await page.context().close();
  });

  test("timeline: dragging a bar's end moves the due date; board swimlanes", async () => {
    const page = await newPage();
    await signIn(page, server.base, "mia", "password-1234");
    await page.waitForURL(/\/manager/);
    await page.goto(`${server.base}/manager/tasks?view=timeline`);
    const t = tasks["Beta review"];
    const before = await get(t.id);
    const bar = page.locator(`[data-testid="timeline-bar"][data-task-id="${t.id}"]`);
    // Beta review is assigned to the client: its bar is in Acme's lane.
    await page
      .getByRole("region", { name: "Acme lane" })
      .locator(`[data-task-id="${t.id}"]`)
      .waitFor();
    const handle = bar.getByTestId("bar-end");
    const box = await handle.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    for (let i = 1; i <= 6; i++)
      await page.mouse.move(box.x + box.width / 2 + i * 14, box.y + box.height / 2);
    await page.mouse.up();
    await eventually(async () => {
      const after = await get(t.id);
      assert.equal(Date.parse(after.dueAt) - Date.parse(before.dueAt), 3 * DAY);
      assert.equal(after.version, before.version + 1);
    });
    await eventually(async () =>
      assert.equal(
        Date.parse(await bar.getAttribute("data-due")),
        Date.parse(before.dueAt) + 3 * DAY,
      ),
    );
    // The keyboard does the same a day at a time.
    await handle.focus();
    await page.keyboard.press("ArrowLeft");
    await eventually(async () =>
      assert.equal(Date.parse((await get(t.id)).dueAt), Date.parse(before.dueAt) + 2 * DAY),
    );
    await screenshot(page, "tasks-timeline");

    // Swimlanes by priority, kept in the URL with the view.
    await page.getByRole("button", { name: "Board" }).click();
    await page.getByLabel("Swimlanes").selectOption("priority");
    await page.waitForURL(/lanes=priority/);
    await page.getByRole("region", { name: "Critical swimlane" }).waitFor();
    await page.getByRole("region", { name: "Low swimlane" }).getByText("Delta fix").waitFor();
    await screenshot(page, "tasks-board-swimlanes");
    await page.reload();
    await page.getByRole("region", { name: "Critical swimlane" }).waitFor();
    await page.context().close();
  });

  test("drawer: watch, edit one's own comment, delete an attachment", async () => {
    const page = await newPage();
    await signIn(page, server.base, "acme", "password-1234");
    await page.waitForURL(/\/client/);
    const t = tasks["Delta fix"];
    // Assigned to mia only, so not visible to acme; share it first.
    await api.call("PATCH", `/api/tasks/${t.id}`, miaToken, {
      version: (await get(t.id)).version,
      sharedWith: [acme.id],
    });
    await page.goto(`${server.base}/client/tasks?task=${t.id}`);
    const drawer = page.getByTestId("task-drawer");
    // The reporter is named even though a client cannot list users.
    await drawer.getByText("by Mia").waitFor();
    // Sharing may already have made the client a watcher; end up watching either way.
    if ((await get(t.id)).watcherIds.includes(acme.id)) {
      await drawer.getByRole("button", { name: "Watching ✓" }).click();
      await drawer.getByRole("button", { name: "Watch", exact: true }).waitFor();
      assert.ok(!(await get(t.id)).watcherIds.includes(acme.id));
    }
    await drawer.getByRole("button", { name: "Watch", exact: true }).click();
    await drawer.getByRole("button", { name: "Watching ✓" }).waitFor();
    assert.ok((await get(t.id)).watcherIds.includes(acme.id));

    const box = drawer.getByLabel("Comment", { exact: true });
    await box.fill("First thoughts.");
    await drawer.getByRole("button", { name: "Comment", exact: true }).click();
    await drawer.getByTestId("comment").filter({ hasText: "First thoughts." }).waitFor();
    // The only comment; located by position, since its text changes below.
    const comment = drawer.getByTestId("comment").first();
    await comment.getByRole("button", { name: "Edit" }).click();
    await comment.getByLabel("Edit comment").fill("Second thoughts.");
    await comment.getByRole("button", { name: "Save comment" }).click();
    const edited = drawer.getByTestId("comment").filter({ hasText: "Second thoughts." });
    await edited.getByTestId("comment-edited").waitFor();

    await drawer.getByLabel("Attach files").setInputFiles({
      name: "draft.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("draft\n"),
    });
    await drawer.getByTestId("attachments").getByText("draft.txt").waitFor();
    await screenshot(page, "tasks-task");
    page.once("dialog", (d) => d.accept());
    await drawer.getByRole("button", { name: "Delete draft.txt" }).click();
    await drawer.getByTestId("attachments").getByText("draft.txt").waitFor({ state: "detached" });
    assert.deepEqual(await api.call("GET", `/api/tasks/${t.id}/attachments`, adminToken), []);
    await page.context().close();
  });

  test("admin renames a status and allows a transition; the board follows", async () => {
    const page = await newPage();
    await signIn(page, server.base, "admin", ADMIN_PASSWORD);
    await page.waitForURL(/\/admin/);
    await page.getByRole("link", { name: "Task settings" }).click();
    await page.waitForURL(/\/admin\/task-settings/);
    await page.getByLabel("Status 3 name").fill("Blocked");
    await page.getByLabel("New to Completed").check();
    // An empty name is refused by the server and shown next to the field.
    await page.getByRole("button", { name: "Add status" }).click();
    await page.getByRole("button", { name: "Save task settings" }).click();
    await page.getByTestId("status-list").getByText("must be 1-64 characters").waitFor();
    assert.equal(
      (await api.call("GET", "/api/task-statuses", adminToken)).statuses[2].name,
      "On Hold",
    );
    await page.getByRole("button", { name: "Remove status" }).click();
    await page.getByRole("button", { name: "Save task settings" }).click();
    await page.getByText("Task settings saved.").waitFor();
    await screenshot(page, "tasks-admin-settings");

    await page.getByRole("link", { name: "Tasks", exact: true }).click();
    await column(page, "Blocked").waitFor();
    assert.equal(await page.locator('section[data-status="On Hold"]').count(), 0);
    // New → Completed is now allowed: the drop sticks.
    await card(page, "Alpha report").dragTo(column(page, "Completed"));
    await eventually(async () => assert.equal((await get(tasks["Alpha report"].id)).statusId, 4));
    await column(page, "Completed").getByText("Alpha report").waitFor();
    await screenshot(page, "tasks-board-admin");
    await page.context().close();
  });
});
