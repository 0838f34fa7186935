// Task view frame benchmarks (reported, not asserted as timings): a board
// with 1,000 cards (time to open, frames per second while dragging a card)
// and the list view over 10,000 tasks (frames per second while scrolling).
// Tasks are written straight into the test database, so the numbers measure
// the SPA and the list API, not 11,000 creates. Results go to
// screenshots/task-perf.json and bench/results/tasks-web-<date>.json.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import {
  ADMIN_PASSWORD,
  apiClient,
  checkA11y,
  launchBrowser,
  repoDir,
  screenshotDir,
  signIn,
  startServer,
} from "./harness.mjs";

const BOARD = 1000;
const LIST = 10_000;
const results = {
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os.loadavg()[0].toFixed(1)}`,
  at: new Date().toISOString(),
};
let server, browser, boardClient, listClient;

function sql(db, statements) {
  const u = new URL(process.env.E2E_MYSQL_URL ?? "mysql://root@127.0.0.1:3306");
  const args = ["-h", u.hostname, "-P", u.port || "3306", "-u", u.username || "root"];
  if (u.password) args.push(`-p${decodeURIComponent(u.password)}`);
  execFileSync("mysql", [...args, "--protocol=tcp", db], { input: statements });
}

/** `n` tasks of a client, spread over the four statuses and priorities. */
function insertTasks(db, client, prefix, n, reporter, assignees) {
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString().slice(0, 23).replace("T", " ");
  const prios = ["low", "medium", "high", "critical"];
  let out = "";
  for (let start = 0; start < n; start += 1000) {
    const rows = [];
    for (let i = start; i < Math.min(n, start + 1000); i++) {
      const created = now - (n - i) * 60_000;
      rows.push(
        `(${client}, ${i + 1}, '${prefix}-${i + 1}', 'Task ${i + 1} of ${prefix}: check the quarterly numbers', '', ` +
          `${(i % 4) + 1}, '${prios[i % 4]}', ${reporter}, '${iso(now + ((i % 40) - 10) * 86_400_000)}', ` +
          `${(i + 1) * 1024}, 'manual', 1, '${iso(created)}', '${iso(created)}')`,
      );
    }
    out +=
      "INSERT INTO task (client_id, task_number, task_key, title, description, status_id, priority, " +
      "reporter_id, due_at, position, source_kind, version, created_at, updated_at) VALUES\n" +
      rows.join(",\n") +
      ";\n";
  }
  out += `INSERT INTO task_counter (client_id, prefix, last_number) VALUES (${client}, '${prefix}', ${n});\n`;
  // Every task assigned round-robin, so the avatars show names.
  out += `INSERT INTO task_assignee (task_id, user_id, client_id, task_open) SELECT task_id, CASE MOD(task_id, ${assignees.length}) ${assignees
    .map((a, i) => `WHEN ${i} THEN ${a}`)
    .join(" ")} END, client_id, completed_at IS NULL FROM task WHERE client_id = ${client};\n`;
  sql(db, out);
}

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  const api = apiClient(server.base);
  const admin = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  const manager = await api.createUser(admin, "benchmia", "manager");
  boardClient = await api.createUser(admin, "boardco", "client");
  listClient = await api.createUser(admin, "listco", "client");
  for (const c of [boardClient, listClient])
    await api.call("PUT", `/api/admin/managers/${manager.id}/clients/${c.id}`, admin);
  const t0 = Date.now();
  insertTasks(server.db, boardClient.id, "BOARD", BOARD, manager.id, [manager.id, boardClient.id]);
  insertTasks(server.db, listClient.id, "LIST", LIST, manager.id, [manager.id, listClient.id]);
  results.seedMs = Date.now() - t0;
});

after(async () => {
  mkdirSync(screenshotDir, { recursive: true });
  writeFileSync(path.join(screenshotDir, "task-perf.json"), JSON.stringify(results, null, 2));
  const dir = path.join(repoDir, "bench/results");
  mkdirSync(dir, { recursive: true });
  const stamp = results.at.replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  writeFileSync(path.join(dir, `tasks-web-${stamp}.json`), JSON.stringify(results, null, 2));
  console.log("task performance:", JSON.stringify(results, null, 2));
  await browser?.close();
  await server?.stop();
});

async function countFrames(page, action) {
  await page.evaluate(() => {
    window.__frames = 0;
    window.__longest = 0;
    window.__counting = true;
    let last = performance.now();
    const tick = (t) => {
      if (!window.__counting) return;
      window.__frames++;
      window.__longest = Math.max(window.__longest, t - last);
      last = t;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const t0 = Date.now();
  await action();
  const ms = Date.now() - t0;
  const { frames, longest } = await page.evaluate(() => {
    window.__counting = false;
    return { frames: window.__frames, longest: window.__longest };
  });
  return { frames, ms, fps: Math.round((frames * 1000) / ms), longestFrameMs: Math.round(longest) };
}

async function signedIn() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await signIn(page, server.base, "benchmia", "password-1234");
  await page.waitForURL(/\/manager/);
  return page;
}

test(`a board of ${BOARD} cards opens, and a card drags (numbers in task-perf.json)`, async () => {
  results.boardLoad = os.loadavg().map((l) => Number(l.toFixed(2)));
  const page = await signedIn();
  const cards = page.getByTestId("task-card");
  const column = (name) => page.locator(`section[data-status="${name}"]`);
  // A full page load of the board's URL (scripts, session, statuses, three task pages).
  const t0 = Date.now();
  await page.goto(`${server.base}/manager/tasks?client=${boardClient.id}`);
  await cards.first().waitFor();
  results.boardFirstCardMs = Date.now() - t0;
  // Every column filled: its count says 250 and its first cards are shown.
  await page.waitForFunction(
    (n) =>
      [...document.querySelectorAll('[data-testid="column-count"]')].reduce(
        (sum, c) => sum + Number(c.textContent),
        0,
      ) === n &&
      [...document.querySelectorAll("section[data-status]")].every((s) =>
        s.querySelector('[data-testid="task-card"]'),
      ),
    BOARD,
  );
  results.boardAllColumnsMs = Date.now() - t0;
  // Columns are windowed: the cards in view (and a few more) are in the DOM.
  results.boardCardsInDom = await cards.count();
  assert.ok(results.boardCardsInDom < 120, `${results.boardCardsInDom} cards in the DOM`);
  await checkA11y(page, "tasks-board-1000");

  // Keyboard focus walks down a long column: cards below the window appear
  // and take focus, and the column scrolls with it.
  const first = column("New").getByTestId("task-card").first();
  const firstKey = (await first.getAttribute("aria-label")).split(":")[0];
  await first.focus();
  for (let i = 0; i < 30; i++) await page.keyboard.press("ArrowDown");
  const focused = await page.evaluate(() => document.activeElement?.getAttribute("aria-label"));
  // New holds tasks 1, 5, 9, …: the 31st is task 121.
  assert.equal(firstKey, "BOARD-1");
  assert.match(focused ?? "", /^BOARD-121:/);
  assert.ok(
    (await column("New")
      .getByTestId("column-scroller")
      .evaluate((el) => el.scrollTop)) > 0,
  );
  for (let i = 0; i < 30; i++) await page.keyboard.press("ArrowUp");
  assert.match(
    (await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))) ?? "",
    /^BOARD-1:/,
  );
  await page.evaluate(() => document.activeElement?.blur());

  // Drag the first New card across to In Progress, slowly, counting frames.
  const from = column("New").getByTestId("task-card").first();
  const to = column("In Progress").locator("ol");
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  let markerSeen = false;
  const drag = await countFrames(page, async () => {
    await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
    await page.mouse.down();
    const steps = 60;
    for (let i = 1; i <= steps; i++) {
      await page.mouse.move(
        a.x + a.width / 2 + ((b.x + b.width / 2 - a.x - a.width / 2) * i) / steps,
        a.y + a.height / 2 + ((b.y + 200 - a.y - a.height / 2) * i) / steps,
      );
      await page.waitForTimeout(16);
    }
    markerSeen = await column("In Progress").getByTestId("drop-marker").isVisible();
    await page.mouse.up();
  });
  results.boardDrag = drag;
  // The marker showed where the card would land, and the card landed there.
  assert.ok(markerSeen, "the drop marker is shown in the target column");
  await column("In Progress")
    .getByLabel(/^BOARD-1:/)
    .waitFor();
  await column("In Progress").getByTestId("column-count").filter({ hasText: "251" }).waitFor();
  await page.screenshot({ path: path.join(screenshotDir, "perf-board-1000.png") });
  await page.context().close();
});

test(`the list view scrolls ${LIST} tasks (numbers in task-perf.json)`, async () => {
  results.listLoad = os.loadavg().map((l) => Number(l.toFixed(2)));
  const page = await signedIn();
  const t0 = Date.now();
  await page.goto(`${server.base}/manager/tasks?view=list&sort=key&client=${listClient.id}`);
  await page.getByTestId("list-row").first().waitFor();
  results.listFirstRowsMs = Date.now() - t0;
  const scroller = page.getByTestId("list-scroller");
  const box = await scroller.boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);

  // Scroll to the end: pages load as the end comes near.
  const tLoad = Date.now();
  const scroll = await countFrames(page, async () => {
    for (let i = 0; i < 2000; i++) {
      await page.mouse.wheel(0, 600);
      await page.waitForTimeout(8);
      if (i % 50 === 49) {
        const done = await page
          .getByText(`${LIST} tasks`, { exact: true })
          .isVisible()
          .catch(() => false);
        const atEnd = await scroller.evaluate(
          (el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 2,
        );
        if (done && atEnd) break;
      }
    }
  });
  results.listScrollToEndMs = Date.now() - tLoad;
  results.listScrollLoading = scroll;
  await page.getByText(`${LIST} tasks`, { exact: true }).waitFor();

  // All rows loaded: scroll back to the top and down again at a steady pace.
  await scroller.evaluate((el) => (el.scrollTop = 0));
  results.listScroll = await countFrames(page, async () => {
    for (let i = 0; i < 300; i++) {
      await page.mouse.wheel(0, 400);
      await page.waitForTimeout(10);
    }
  });
  results.listRowsInDom = await page.getByTestId("list-row").count();
  assert.ok(results.listRowsInDom < 100, `${results.listRowsInDom} rows in the DOM`);
  await page.screenshot({ path: path.join(screenshotDir, "perf-list-10000.png") });
  await page.context().close();
});
