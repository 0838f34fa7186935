// Tasks: a manager's Kanban board, drag and keyboard moves, a refused
// transition, the drawer (assignees, Markdown description that must stay
// inert, a comment with an @mention), the client's own board with an
// attachment, and the bell's live count. Axe runs in every screenshot().
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

let server, browser, api, adminToken, acme, mia;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  api = apiClient(server.base);
  adminToken = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  mia = await api.createUser(adminToken, "mia", "manager");
  acme = await api.createUser(adminToken, "acme", "client");
  const globex = await api.createUser(adminToken, "globex", "client");
  await api.call("PUT", `/api/admin/managers/${mia.id}/clients/${acme.id}`, adminToken);
  // Another client's task the client must never see.
  await api.call("POST", "/api/tasks", adminToken, { clientId: globex.id, title: "Globex secret" });
});

after(async () => {
  if (process.env.TASKS_DEBUG)
    for (const [i, p] of (globalThis.__pages ?? []).entries())
      await p.screenshot({ path: `/tmp/tw-debug-${i}.png` }).catch(() => {});
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

const column = (page, name) => page.locator(`section[data-status="${name}"]`);
const card = (page, title) => page.getByTestId("task-card").filter({ hasText: title });

describe("tasks", () => {
  test("manager and client work one task across the board, live", async () => {
    const manager = await newPage();
    globalThis.__pages = [manager];
    await signIn(manager, server.base, "mia", "password-1234");
    await manager.waitForURL(/\/manager/);
    await manager.getByRole("link", { name: "Tasks" }).click();
    await manager.waitForURL(/\/manager\/tasks/);

    // Three tasks through the quick add of the New column.
    const add = column(manager, "New");
    await add.getByRole("button", { name: "+ Add task" }).click();
    for (const title of ["Prepare invoice", "Review contract", "Ship order"]) {
      await add.getByLabel("New task in New").fill(title);
      await add.getByLabel("New task in New").press("Enter");
      await card(manager, title).waitFor();
    }
    await assert.doesNotReject(() =>
      column(manager, "New").getByTestId("task-card").nth(2).waitFor(),
    );
    assert.equal(await column(manager, "New").getByTestId("column-count").textContent(), "3");

    // Assign "Review contract" to the client and give it a hostile description.
    await card(manager, "Review contract").click();
    const drawer = manager.getByTestId("task-drawer");
    await drawer.getByLabel("Add assignee").selectOption({ label: "Acme (client)" });
    await drawer.getByRole("button", { name: "Unassign Acme" }).waitFor();
    await drawer.getByRole("button", { name: "Edit description" }).click();
    await drawer
      .getByLabel("Description (Markdown)")
      .fill(
        'Check **totals**.\n\n<img src=x onerror="window.__xss = 1"> [docs](https://example.com)',
      );
    await drawer.getByRole("button", { name: "Preview" }).click();
    await drawer.getByRole("button", { name: "Save description" }).click();
    await drawer.locator(".markdown strong", { hasText: "totals" }).waitFor();
    assert.equal(await drawer.locator(".markdown img").count(), 0);
    assert.equal(
      await drawer.locator('.markdown a[href="https://example.com"]').getAttribute("rel"),
      "noopener noreferrer",
    );
    assert.equal(await manager.evaluate(() => window.__xss), undefined);
    await manager.keyboard.press("Escape");
    await drawer.waitFor({ state: "detached" });

    // Drag it to In Progress; the server agrees.
    await card(manager, "Review contract").dragTo(column(manager, "In Progress"));
    await column(manager, "In Progress").getByText("Review contract").waitFor();
    await eventually(async () => {
      const [task] = (await api.call("GET", "/api/tasks?q=Review", adminToken)).items;
      assert.equal(task.statusId, 2);
    });

    // New → Completed is not allowed: the card comes back and the toast names the transition.
    await card(manager, "Ship order").dragTo(column(manager, "Completed"));
    await manager.getByText(/from `?New`? to `?Completed`?/).waitFor();
    await column(manager, "New").getByText("Ship order").waitFor();

    // Keyboard: focus the card and press m to move it to the next column.
    await card(manager, "Review contract").focus();
    await manager.keyboard.press("m");
    await column(manager, "On Hold").getByText("Review contract").waitFor();
    await screenshot(manager, "tasks-board");

    // A comment with an @mention picked from the suggestions.
    await card(manager, "Review contract").click();
    const box = drawer.getByLabel("Comment", { exact: true });
    await box.fill("Please check @ac");
    await drawer.getByRole("option", { name: /acme/ }).waitFor();
    await box.press("Enter");
    assert.equal(await box.inputValue(), "Please check @acme ");
    await box.pressSequentially("before Friday.");
    await drawer.getByRole("button", { name: "Comment", exact: true }).click();
    await drawer.getByTestId("comments").getByText("@acme before Friday.").waitFor();
    await drawer
      .getByTestId("activity")
      .getByText(/changed/)
      .first()
      .waitFor();
    await screenshot(manager, "tasks-drawer");
    await manager.keyboard.press("Escape");

    // The client sees only their task and moves it to Completed.
    const client = await newPage();
    globalThis.__pages.push(client);
    await signIn(client, server.base, "acme", "password-1234");
    await client.waitForURL(/\/client/);
    await client.getByRole("link", { name: "My tasks" }).click();
    await card(client, "Review contract").waitFor();
    assert.equal(await client.getByTestId("task-card").count(), 1);
    assert.equal(await client.getByText("Globex secret").count(), 0);
    // Assigned and mentioned: the client's bell says so.
    await client.getByTestId("unread-count").waitFor();
    await card(client, "Review contract").dragTo(column(client, "Completed"));
    await column(client, "Completed").getByText("Review contract").waitFor();

    // The manager's board follows without a reload, and the bell counts the status change.
    await column(manager, "Completed").getByText("Review contract").waitFor({ timeout: 3000 });
    await manager.getByTestId("unread-count").waitFor({ timeout: 3000 });

    // The client attaches a file in the drawer (no description editing for clients).
    await card(client, "Review contract").click();
    const cdrawer = client.getByTestId("task-drawer");
    assert.equal(await cdrawer.getByRole("button", { name: "Edit description" }).count(), 0);
    assert.equal(await client.evaluate(() => window.__xss), undefined);
    await cdrawer.getByLabel("Attach files").setInputFiles({
      name: "notes.txt",
      mimeType: "text/plain",
      buffer: Buffer.from("Totals checked.\n"),
    });
    await cdrawer.getByTestId("attachments").getByText("notes.txt").waitFor();
    await screenshot(client, "tasks-client-drawer");
    await client.keyboard.press("Escape");
    await screenshot(client, "tasks-client-board");

    // The manager opens the inbox and marks everything read.
    await manager.getByTestId("notification-bell").click();
    await manager.getByTestId("notification").first().waitFor();
    await screenshot(manager, "tasks-notifications");
    await manager.getByRole("menuitem", { name: "Mark all read" }).click();
    await manager.getByTestId("unread-count").waitFor({ state: "detached" });
    assert.equal(
      (
        await api.call(
          "GET",
          "/api/notifications",
          (await api.login("mia", "password-1234")).accessToken,
        )
      ).unread,
      0,
    );

    await client.context().close();
    await manager.context().close();
  });
});
