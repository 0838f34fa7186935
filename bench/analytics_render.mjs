// Dashboard render time in headless Chromium against a running server that
// serves the built SPA (started by analytics_bench.py --render, on its
// generated data). For each user: sign in once, then load the dashboard
// LOADS times (fresh navigations in the same tab, so the session is
// restored the way a returning user's is) and record, in the page's own
// clock, the time from navigation start until every counter has its number
// and every chart has drawn its data: the dashboard is no longer
// aria-busy, no chart is still a lazy-load placeholder, and every uPlot
// chart has fired its draw hook (`data-drawn`). Prints one JSON object.
//
//   node bench/analytics_render.mjs <base-url> <loads> <user>:<password>:<path> ...

import { launchBrowser, signIn } from "../frontend/e2e/harness.mjs";

const [base, loadsArg, ...users] = process.argv.slice(2);
const LOADS = Number(loadsArg) || 10;

/** The page's "everything drawn" condition, evaluated in the page. */
function drawn() {
  const d = document.querySelector('[data-testid="analytics-dashboard"]');
  if (!d || d.getAttribute("aria-busy") === "true") return false;
  if (!d.querySelector('[data-testid="kpi-created"]')) return false;
  if (d.querySelector("[data-chart-placeholder]")) return false;
  const charts = d.querySelectorAll("[data-chart]");
  if (
    charts.length === 0 ||
    ![...charts].every((c) => c.hasAttribute("data-drawn"))
  )
    return false;
  // Stamped here, in the frame that first satisfies the condition.
  window.__drawnAt ??= performance.now();
  return true;
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

const browser = await launchBrowser();
const results = {};
try {
  for (const spec of users) {
    const [login, password, path] = spec.split(":");
    const context = await browser.newContext({
      viewport: { width: 1440, height: 1400 },
    });
    const page = await context.newPage();
    page.setDefaultTimeout(60_000);
    await signIn(page, base, login, password);
    await page.waitForURL((u) => !u.pathname.startsWith("/login"));
    const times = [];
    let bytes = 0;
    let charts = 0;
    const phaseTimes = {};
    // One unmeasured load warms the server's and the browser's caches.
    for (let i = 0; i <= LOADS; i++) {
      await page.goto(base + path, { waitUntil: "commit" });
      await page.waitForFunction(drawn, null, { polling: "raf" });
      const [ms, size, count, phases] = await page.evaluate(() => {
        const analytics = performance
          .getEntriesByType("resource")
          .filter((e) => e.name.includes("/api/analytics/"));
        return [
          window.__drawnAt,
          analytics.reduce((a, e) => a + e.decodedBodySize, 0),
          document.querySelectorAll("[data-chart]").length,
          {
            // Where the time goes: the document and scripts, the wait for
            // the API's answers, then drawing.
            domContentLoaded:
              performance.getEntriesByType("navigation")[0]
                ?.domContentLoadedEventEnd,
            analyticsRequested: Math.min(...analytics.map((e) => e.startTime)),
            analyticsAnswered: Math.max(...analytics.map((e) => e.responseEnd)),
            slowestAnalyticsRequest: Math.max(
              ...analytics.map((e) => e.responseEnd - e.startTime),
            ),
          },
        ];
      });
      if (i === 0) continue;
      times.push(ms);
      bytes = size;
      charts = count;
      for (const [k, v] of Object.entries(phases))
        (phaseTimes[k] ??= []).push(v);
    }
    times.sort((a, b) => a - b);
    results[`${login} ${path}`] = {
      p50_ms: Math.round(quantile(times, 0.5)),
      p99_ms: Math.round(quantile(times, 0.99)),
      max_ms: Math.round(times.at(-1)),
      loads: times.length,
      charts,
      analytics_json_bytes: bytes,
      // Medians over the loads, ms from navigation start.
      phases_p50_ms: Object.fromEntries(
        Object.entries(phaseTimes).map(([k, v]) => [
          k,
          Math.round(
            quantile(
              v.sort((a, b) => a - b),
              0.5,
            ),
          ),
        ]),
      ),
    };
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
