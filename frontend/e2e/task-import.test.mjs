// Task import wizard: a manager drops a CSV on the page, adjusts one
// suggested mapping, sees two errors in the dry run, downloads the error
// report, imports the valid rows with the progress bar and lands on the
// board filtered to the new tasks. A screenshot (and axe check) per step.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  ADMIN_PASSWORD,
  apiClient,
  launchBrowser,
  screenshot,
  signIn,
  startServer,
} from "./harness.mjs";

let server, browser, api, adminToken;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  api = apiClient(server.base);
  adminToken = (await api.login("admin", ADMIN_PASSWORD)).accessToken;
  const mia = await api.createUser(adminToken, "mia", "manager");
  const acme = await api.createUser(adminToken, "acme", "client");
  await api.call("PUT", `/api/admin/managers/${mia.id}/clients/${acme.id}`, adminToken);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

// Row 4 names an unknown owner, row 6 a date that does not exist.
const CSV = [
  "Key,Summary,State,Prio,Owner,Deadline,Notes,Steps",
  "K-1,Migrate invoices,New,P1,mia,2026-05-04,old notes,Run the migration script",
  "K-2,Check totals,In Progress,High,acme@example.com,2026-05-06,,Compare with the ledger",
  "K-3,Call the bank,New,Low,nobody,2026-05-07,,Ask about fees",
  "K-4,Archive paper,Done,Medium,,2026-05-08,,Boxes in the cellar",
  "K-5,Close the year,New,P1,,2026-02-30,,Sign the report",
  "K-6,Send the summary,On Hold,Low,mia,2026-05-09,,To the board",
].join("\n");

describe("task import", () => {
  test("drop, map, dry run with two errors, report, apply, board", async () => {
    const context = await browser.newContext({
      viewport: { width: 1440, height: 1000 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await signIn(page, server.base, "mia", "password-1234");
    await page.waitForURL(/\/manager/);
    await page.goto(`${server.base}/manager/tasks`);
    await page.getByRole("link", { name: "Import CSV / Excel" }).click();
    await page.waitForURL(/\/manager\/tasks\/import/);
    await page.getByTestId("import-dropzone").waitFor();
    await screenshot(page, "import-1-upload");

    // Drag and drop: a real drop event carrying the file.
    const dt = await page.evaluateHandle((csv) => {
      const d = new DataTransfer();
      d.items.add(new File([csv], "year-end.csv", { type: "text/csv" }));
      return d;
    }, CSV);
    await page.dispatchEvent('[data-testid="import-dropzone"]', "dragover", { dataTransfer: dt });
    await page.dispatchEvent('[data-testid="import-dropzone"]', "drop", { dataTransfer: dt });
    await page.getByRole("table", { name: "Column mapping" }).waitFor();
    await screenshot(page, "import-2-dropped");
    // The suggestions: Summary → title, Notes → description.
    assert.equal(await page.getByLabel("Title source").inputValue(), "column:Summary");
    assert.equal(await page.getByLabel("Description source").inputValue(), "column:Notes");
    // Adjust one: the description comes from Steps (no synonym) instead.
    await page.getByLabel("Description source").selectOption("column:Steps");
    await page.getByLabel("Client").selectOption({ label: "Acme" });
    await screenshot(page, "import-3-mapping");

    await page.getByRole("button", { name: "Dry run", exact: true }).click();
    const counts = page.getByTestId("dry-run-counts");
    await counts.waitFor();
    assert.match(await counts.innerText(), /4 valid/);
    assert.match(await counts.innerText(), /2 with errors/);
    const problems = page.getByRole("table", { name: "Problems" });
    assert.match(await problems.innerText(), /nobody/);
    assert.match(await problems.innerText(), /2026-02-30/);
    await screenshot(page, "import-4-dry-run");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download error report" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), "year-end-errors.csv");
    const report = readFileSync(await download.path(), "utf8").replace(/^\uFEFF/, "");
    const lines = report.trim().split(/\r?\n/);
    assert.equal(lines[0], "Key,Summary,State,Prio,Owner,Deadline,Notes,Steps,errors");
    assert.equal(lines.length, 3);
    assert.match(lines[1], /^K-3,/);
    // The downloaded report as a page of its own, for the screenshot.
    const reportPage = await context.newPage();
    await reportPage.setContent(
      `<!doctype html><html lang="en"><head><title>year-end-errors.csv</title></head>` +
        `<body><main><h1>year-end-errors.csv</h1><pre></pre></main></body></html>`,
    );
    await reportPage.locator("pre").evaluate((el, text) => (el.textContent = text), report);
    await screenshot(reportPage, "import-5-error-report");
    await reportPage.close();

    await page.getByRole("button", { name: "Import 4 valid rows" }).click();
    const progress = page.getByRole("progressbar", { name: "Import progress" });
    await progress.waitFor();
    await screenshot(page, "import-6-applying");
    await page.getByText("Done: 4 created, 0 updated, 2 skipped.").waitFor();
    await screenshot(page, "import-7-applied");

    await page.getByRole("button", { name: "Open the imported tasks" }).click();
    await page.waitForURL(/\/manager\/tasks\?import=\d+/);
    const cards = page.getByTestId("task-card");
    await cards.first().waitFor();
    for (const title of ["Migrate invoices", "Check totals", "Archive paper", "Send the summary"])
      await cards.filter({ hasText: title }).waitFor();
    assert.equal(await cards.count(), 4);
    await screenshot(page, "import-8-board");
    await context.close();
  });
});
