// Performance measurements (reported, not asserted as timings): a 500-node,
// 600-edge workflow's load time and frame rate while panning, zooming and
// dragging in headless Chromium, plus the login page's initial JavaScript size.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, test } from "node:test";
import {
  ADMIN_PASSWORD,
  apiClient,
  frontendDir,
  launchBrowser,
  screenshot,
  screenshotDir,
  startServer,
} from "./harness.mjs";

const N = 500;
const results = {
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os.loadavg()[0].toFixed(1)}`,
};
let server, browser, api, managerToken, workflowId;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  api = apiClient(server.base);
  const admin = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  const manager = await api.createUser(admin, "perfmanager", "manager");
  const client = await api.createUser(admin, "perfclient", "client");
  await api.call("PUT", `/api/admin/managers/${manager.id}/clients/${client.id}`, admin);
  await api.call("POST", "/api/templates", admin, {
    name: "util.merge",
    title: "Merge",
    category: "util",
    code: 'def run(inputs, params, ctx):\n    return {"out": [inputs.get("a"), inputs.get("b")]}\n',
    inputs: [
      { name: "a", type: "json" },
      { name: "b", type: "json" },
    ],
    outputs: [{ name: "out", type: "json" }],
  });
  const nodes = Array.from({ length: N }, (_, i) => ({
    id: `n${i}`,
    template: { name: "util.merge", version: 1 },
    position: { x: (i % 25) * 280, y: Math.floor(i / 25) * 140 },
    params: {},
  }));
  const edges = [];
  for (let i = 0; i + 1 < N; i++)
    edges.push({
      id: `a${i}`,
      source: `n${i}`,
      sourcePort: "out",
      target: `n${i + 1}`,
      targetPort: "a",
    });
  for (let i = 0; edges.length < 600; i++)
    edges.push({
      id: `b${i}`,
      source: `n${i}`,
      sourcePort: "out",
      target: `n${i + 2}`,
      targetPort: "b",
    });
  managerToken = (await api.login("perfmanager", "password-1234")).accessToken;
  const w = await api.call("POST", "/api/workflows", managerToken, {
    clientId: client.id,
    name: "Big",
    graph: { nodes, edges },
  });
  workflowId = w.id;
  // A three-node workflow as the baseline for the same machine and load.
  await api.call("POST", "/api/workflows", managerToken, {
    clientId: client.id,
    name: "Small",
    graph: { nodes: nodes.slice(0, 3), edges: edges.filter((e) => ["a0", "a1"].includes(e.id)) },
  });
});

after(async () => {
  mkdirSync(screenshotDir, { recursive: true });
  writeFileSync(path.join(screenshotDir, "perf.json"), JSON.stringify(results, null, 2));
  console.log("performance:", JSON.stringify(results, null, 2));
  await browser?.close();
  await server?.stop();
});

async function countFrames(page, action) {
  await page.evaluate(() => {
    window.__frames = 0;
    window.__counting = true;
    const tick = () => {
      if (!window.__counting) return;
      window.__frames++;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const t0 = Date.now();
  await action();
  const ms = Date.now() - t0;
  const frames = await page.evaluate(() => {
    window.__counting = false;
    return window.__frames;
  });
  return { frames, ms, fps: Math.round((frames * 1000) / ms) };
}

test("a 500-node, 600-edge workflow opens, pans, zooms and drags (numbers in perf.json)", async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.base}/login`);
  await page.getByLabel("Username or email").fill("perfmanager");
  await page.getByLabel("Password").fill("password-1234");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/manager$/);

  // Baseline: a three-node workflow opened from the clients list.
  await page.getByRole("link", { name: /Small/ }).waitFor();
  const tSmall = Date.now();
  await page.getByRole("link", { name: /Small/ }).click();
  await page.getByText("3 nodes · 2 connections").waitFor();
  results.smallOpenFromListToInteractiveMs = Date.now() - tSmall;
  await page.getByRole("button", { name: "←" }).click();
  await page.waitForURL(/\/manager$/);

  // Opening from the clients list (in-app navigation, as a user does it).
  await page.getByRole("link", { name: /Big/ }).waitFor();
  // The most node cards in the DOM at any moment while the graph opens.
  await page.evaluate(() => {
    window.__maxNodes = 0;
    new MutationObserver(() => {
      const n = document.querySelectorAll(".react-flow__node").length;
      if (n > window.__maxNodes) window.__maxNodes = n;
    }).observe(document.body, { childList: true, subtree: true });
  });
  const t = Date.now();
  await page.getByRole("link", { name: /Big/ }).click();
  await page.locator(".react-flow__node").first().waitFor({ timeout: 30_000 });
  results.openFromListToFirstNodeMs = Date.now() - t;
  await page.getByText(`${N} nodes · 600 connections`).waitFor();
  results.openFromListToInteractiveMs = Date.now() - t;
  results.mostNodesInDomWhileOpening = await page.evaluate(() => window.__maxNodes);
  // Off-screen nodes are never rendered just to be measured: their handle
  // positions are computed, and must be where the rendered card has them.
  assert.ok(results.mostNodesInDomWhileOpening < 100, `${results.mostNodesInDomWhileOpening}`);
  const handles = await page.evaluate(() => {
    const node = document.querySelector('.react-flow__node[data-id="n0"]');
    const zoom = Number(
      /scale\(([\d.]+)\)/.exec(document.querySelector(".react-flow__viewport").style.transform)[1],
    );
    const nb = node.getBoundingClientRect();
    return [...node.querySelectorAll(".react-flow__handle")].map((h) => {
      const b = h.getBoundingClientRect();
      return [
        h.dataset.handleid,
        Math.round((b.left - nb.left) / zoom),
        Math.round((b.top - nb.top) / zoom),
      ];
    });
  });
  assert.deepEqual(handles, [
    ["in:a", -1, 39],
    ["in:b", -1, 61],
    ["out:out", 213, 39],
  ]);

  // A full page load of the editor URL (cold: scripts, session, data).
  const t0 = Date.now();
  await page.goto(`${server.base}/manager/workflows/${workflowId}`);
  page.on("pageerror", (e) => console.log("pageerror:", e.message));
  await page
    .locator(".react-flow__node")
    .first()
    .waitFor({ timeout: 30_000 })
    .catch(async (e) => {
      await screenshot(page, "perf-failure");
      console.log(
        "nodes in DOM:",
        await page.locator(".react-flow__node").count(),
        await page.locator(".react-flow__viewport").getAttribute("style"),
      );
      throw e;
    });
  results.openToFirstNodeMs = Date.now() - t0;
  await page.getByText(`${N} nodes · 600 connections`).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid="problem-count"]') != null);
  results.openToInteractiveMs = Date.now() - t0;
  results.nodesInDom = await page.locator(".react-flow__node").count();
  // Where the time goes: document, scripts, API answers (ms since navigation start).
  results.openBreakdown = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const res = performance
      .getEntriesByType("resource")
      .map((r) => [new URL(r.name).pathname, Math.round(r.responseEnd)]);
    const pick = (re) =>
      res.filter(([p]) => re.test(p)).map(([p, t]) => `${p.replace(/-[\w-]{8}\.js$/, ".js")} ${t}`);
    return {
      domContentLoaded: Math.round(nav.domContentLoadedEventEnd),
      api: pick(/^\/api\//),
      editorChunk: pick(/manager-workflow/),
      firstNodeAt: Math.round(performance.now()),
    };
  });
  assert.ok(results.nodesInDom > 0);

  const viewport = page.locator(".react-flow__viewport");
  const before = await viewport.getAttribute("style");
  const pane = await page.locator(".react-flow__pane").boundingBox();
  // A point of empty canvas between nodes, where a drag pans.
  const { x: cx, y: cy } = await page.evaluate(({ x, y, width, height }) => {
    for (let py = y + height / 2; py < y + height - 20; py += 7) {
      for (let px = x + width / 2; px < x + width - 20; px += 7) {
        if (document.elementFromPoint(px, py)?.classList.contains("react-flow__pane"))
          return { x: px, y: py };
      }
    }
    return { x: x + width / 2, y: y + height / 2 };
  }, pane);
  results.pan = await countFrames(page, async () => {
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 0; i < 90; i++) {
      await page.mouse.move(cx - i * 4, cy - i * 2);
      await page.waitForTimeout(16);
    }
    await page.mouse.up();
  });
  assert.notEqual(await viewport.getAttribute("style"), before, "the pan moved the viewport");

  results.zoom = await countFrames(page, async () => {
    await page.mouse.move(cx, cy);
    for (let i = 0; i < 40; i++) {
      await page.mouse.wheel(0, i < 20 ? -60 : 60);
      await page.waitForTimeout(25);
    }
  });

  await page.getByRole("button", { name: "Fit view", exact: true }).click();
  await page.waitForTimeout(400);
  results.nodesInDomZoomedOut = await page.locator(".react-flow__node").count();
  const node = await page.locator(".react-flow__node").first().boundingBox();
  results.dragNode = await countFrames(page, async () => {
    await page.mouse.move(node.x + 10, node.y + 5);
    await page.mouse.down();
    for (let i = 0; i < 60; i++) {
      await page.mouse.move(node.x + 10 + i * 3, node.y + 5 + i);
      await page.waitForTimeout(16);
    }
    await page.mouse.up();
  });
  await screenshot(page, "editor-500-nodes");
  await context.close();
});

test("the login page's initial JavaScript is measured from the production build", () => {
  const dist = path.join(frontendDir, "dist");
  const html = readFileSync(path.join(dist, "index.html"), "utf8");
  const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
  assert.ok(files.length > 0, "index.html references its entry script");
  const gz = files.map((f) => gzipSync(readFileSync(path.join(dist, f))).length);
  results.loginInitialJsGzipKiB = Math.round(gz.reduce((a, b) => a + b, 0) / 102.4) / 10;
  results.loginInitialJsFiles = files;
});
