// Security headers in a real browser: the Content-Security-Policy blocks an
// injected inline script (the stored-XSS case), while the SPA's own code,
// including CodeMirror's styles, runs without a single violation.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ADMIN_PASSWORD, launchBrowser, signIn, startServer } from "./harness.mjs";

let browser;
let server;

before(async () => {
  browser = await launchBrowser();
  server = await startServer({ KATALUSIS_STARTER_LIBRARY: "true" });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A page that records every CSP violation the browser reports. */
async function watchedPage() {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  // Init scripts are injected by the driver, not by the page, so the CSP
  // does not apply to them.
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) =>
      window.__csp.push({ directive: e.effectiveDirective, blocked: e.blockedURI }),
    );
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

test("the CSP blocks an injected inline script and inline handlers", async () => {
  const page = await watchedPage();
  const resp = await page.goto(`${server.base}/login`);
  const csp = resp.headers()["content-security-policy"];
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  await page.getByLabel("Username or email").waitFor();

  // What a stored XSS would do: put markup with a script into the page.
  await page.evaluate(() => {
    const s = document.createElement("script");
    s.textContent = "window.__pwned = 'inline script ran'";
    document.body.appendChild(s);
    const div = document.createElement("div");
    div.innerHTML = `<img src="data:," onerror="window.__pwned = 'handler ran'">`;
    document.body.appendChild(div);
  });
  await page.waitForFunction(() => window.__csp.length >= 2);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  const directives = await page.evaluate(() => window.__csp.map((v) => v.directive));
  assert.ok(directives.includes("script-src-elem"), directives.join(","));
  assert.ok(directives.includes("script-src-attr"), directives.join(","));

  // A script from another origin is refused too.
  await page.evaluate(() => {
    const s = document.createElement("script");
    s.src = "https://attacker.example/x.js";
    document.body.appendChild(s);
  });
  await page.waitForFunction(() =>
    window.__csp.some((v) => v.blocked.startsWith("https://attacker.example")),
  );
  await page.context().close();
});

test("the SPA, CodeMirror included, runs under the CSP without violations", async () => {
  const page = await watchedPage();
  await signIn(page, server.base, "admin", ADMIN_PASSWORD);
  await page.waitForURL(/\/admin\/users$/);
  await page.goto(`${server.base}/admin/library/csv.read`);
  const editor = page.locator(".cm-editor").first();
  await editor.waitFor();
  // CodeMirror's own stylesheet (constructed, not inline) is applied.
  assert.equal(await editor.evaluate((el) => getComputedStyle(el).display), "flex");
  const frame = await page.evaluate(() => window.getComputedStyle(document.body).margin);
  assert.equal(frame, "0px", "the app stylesheet loaded");
  assert.deepEqual(await page.evaluate(() => window.__csp), []);
  await page.context().close();
});

test("a person sees their sessions and signs another device out", async () => {
  const laptop = await watchedPage();
  const phone = await watchedPage();
  await signIn(phone, server.base, "admin", ADMIN_PASSWORD);
  await phone.waitForURL(/\/admin\/users$/);
  await signIn(laptop, server.base, "admin", ADMIN_PASSWORD);
  await laptop.waitForURL(/\/admin\/users$/);

  await laptop.getByTestId("account-menu").click();
  await laptop.getByRole("menuitem", { name: "Active sessions" }).click();
  const rows = laptop.getByTestId("session-row");
  await rows.nth(1).waitFor();
  const current = rows.filter({ hasText: "this device" });
  assert.equal(await current.count(), 1);
  const before = await rows.count();
  // Revoke the most recently used other session: the phone's (the list is
  // ordered by last use, and earlier tests' sessions were used before it).
  await rows
    .filter({ hasNotText: "this device" })
    .first()
    .getByRole("button", { name: "Revoke" })
    .click();
  await laptop.getByText(/was signed out\./).waitFor();
  await laptop.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="session-row"]').length === n - 1,
    before,
  );

  // The other device is sent to the login page at its next request.
  await phone.reload();
  await phone.waitForURL(/\/login/);
  await laptop.context().close();
  await phone.context().close();
});
