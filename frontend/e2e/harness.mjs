// End-to-end harness: a real API server on a free port with a fresh MariaDB
// database (dropped afterwards), serving the built SPA, and headless Debian
// Chromium driven by playwright-core. Nothing is mocked.
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const frontendDir = path.resolve(here, "..");
export const repoDir = path.resolve(frontendDir, "..");
export const screenshotDir = path.join(here, "screenshots");
export const ADMIN_PASSWORD = "admin-e2e-password";

function serverBinary() {
  const candidates = [
    process.env.KATALUSIS_API_BIN,
    process.env.CARGO_TARGET_DIR && path.join(process.env.CARGO_TARGET_DIR, "debug/katalusis-api"),
    path.join(repoDir, "target/debug/katalusis-api"),
    "/var/cache/katalusis/target/debug/katalusis-api",
  ].filter(Boolean);
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new Error(
      `katalusis-api binary not found (tried ${candidates.join(", ")}); build it or set KATALUSIS_API_BIN`,
    );
  return found;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

const mysqlBase = process.env.E2E_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";

function mysqlArgs() {
  const u = new URL(mysqlBase);
  const args = [
    "-h",
    u.hostname,
    "-P",
    u.port || "3306",
    "-u",
    decodeURIComponent(u.username || "root"),
    "--protocol=tcp",
  ];
  if (u.password) args.push(`-p${decodeURIComponent(u.password)}`);
  return args;
}

function dropDatabase(name) {
  execFileSync("mysql", [...mysqlArgs(), "-e", `DROP DATABASE IF EXISTS \`${name}\``], {
    stdio: "ignore",
  });
}

/**
 * Runs one SQL statement in a test server's database, for states no API
 * reaches on a machine without a cluster (a cluster-managed workflow).
 */
export function sql(db, statement) {
  return execFileSync("mysql", [...mysqlArgs(), "-D", db, "-N", "-e", statement], {
    encoding: "utf8",
  });
}

/** Starts the API server (with the SPA) on a fresh database. */
export async function startServer(extraEnv = {}) {
  const dist = path.join(frontendDir, "dist");
  if (!existsSync(path.join(dist, "index.html")))
    throw new Error("frontend/dist is missing: run `npm run build` first");
  const port = await freePort();
  const db = `katalusis_e2e_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const logs = [];
  const proc = spawn(serverBinary(), [], {
    cwd: repoDir,
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: `${mysqlBase}/${db}`,
      KATALUSIS_BIND: `127.0.0.1:${port}`,
      KATALUSIS_ADMIN_PASSWORD: ADMIN_PASSWORD,
      KATALUSIS_JWT_SECRET: "e2e-secret-e2e-secret-e2e-secret-e2e",
      // A fixed vault key, so no dev key file is written into the checkout.
      KATALUSIS_SECRET_KEY: "ZTJlLXZhdWx0LWtleS1lMmUtdmF1bHQta2V5LWUyZSE=",
      KATALUSIS_WEB_DIR: dist,
      KATALUSIS_ARGON2_MEMORY_KIB: "1024",
      KATALUSIS_ARGON2_ITERATIONS: "1",
      KATALUSIS_LOG: "warn",
      // Tests build their own library; the starter library has its own tests.
      KATALUSIS_STARTER_LIBRARY: "false",
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout.on("data", (d) => logs.push(String(d)));
  proc.stderr.on("data", (d) => logs.push(String(d)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode != null)
      throw new Error(`server exited (${proc.exitCode}):\n${logs.join("")}`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`server not ready after 60 s:\n${logs.join("")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    db,
    logs,
    async stop() {
      proc.kill("SIGTERM");
      await new Promise((r) => (proc.exitCode != null ? r() : proc.once("exit", r)));
      dropDatabase(db);
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A small typed-enough client for seeding through the real API. */
export function apiClient(base) {
  async function call(method, p, token, body) {
    const r = await fetch(base + p, {
      method,
      headers: {
        "Content-Type": "application/json",
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    const json = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
    return json;
  }
  return {
    call,
    async login(login, password) {
      return call("POST", "/api/auth/login", null, { login, password });
    },
    async createUser(token, username, role, password = "password-1234") {
      return call("POST", "/api/admin/users", token, {
        username,
        email: `${username}@example.com`,
        displayName: username[0].toUpperCase() + username.slice(1),
        role,
        password,
      });
    },
  };
}

const AXE_SOURCE = readFileSync(path.join(frontendDir, "node_modules/axe-core/axe.min.js"), "utf8");

/**
 * Runs axe-core (WCAG 2 A/AA rules) on the page as it is now and fails on any
 * serious or critical violation, naming the rule and the offending elements.
 * The full result is written next to the screenshots.
 */
export async function checkA11y(page, name) {
  // Evaluated through the driver rather than added as an inline <script>,
  // which the app's Content-Security-Policy (rightly) blocks.
  if (!(await page.evaluate(() => typeof window.axe !== "undefined")))
    await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: {
        type: "tag",
        values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
      },
      resultTypes: ["violations"],
    }),
  );
  mkdirSync(screenshotDir, { recursive: true });
  writeFileSync(
    path.join(screenshotDir, `axe-${name}.json`),
    JSON.stringify(result.violations, null, 2),
  );
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (bad.length)
    throw new Error(
      `axe on ${name} (${page.url()}): ${bad.length} serious/critical violation(s):\n` +
        bad
          .map(
            (v) =>
              `- ${v.id} (${v.impact}): ${v.help}\n` +
              v.nodes
                .slice(0, 5)
                .map(
                  (n) =>
                    `    ${n.target.join(" ")}: ${n.failureSummary?.split("\n").slice(1).join(" ")}`,
                )
                .join("\n"),
          )
          .join("\n"),
    );
  return result.violations;
}

/** A screenshot of the page as a user sees it, and an axe check of the same state. */
export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) });
  await checkA11y(page, name);
}

/** Signs in through the login form. */
export async function signIn(page, base, login, password) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username or email").fill(login);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export const TEMPLATES = {
  upper: {
    name: "text.upper",
    title: "Uppercase",
    category: "text",
    code: 'def run(inputs, params, ctx):\n    return {"text": inputs["text"].upper()}\n',
    inputs: [{ name: "text", type: "string", required: true }],
    outputs: [{ name: "text", type: "string" }],
  },
  double: {
    name: "math.double",
    title: "Double",
    category: "math",
    // Slow enough for a screenshot of the editor mid-run.
    code: 'import time\n\ndef run(inputs, params, ctx):\n    ctx.progress(0.5, "half way")\n    time.sleep(1.5)\n    return {"y": inputs["x"] * params["factor"]}\n',
    inputs: [{ name: "x", type: "number", required: true }],
    outputs: [{ name: "y", type: "number" }],
    parameters: [{ name: "factor", label: "Factor", kind: "number", default: 2, min: 1, max: 10 }],
  },
};
