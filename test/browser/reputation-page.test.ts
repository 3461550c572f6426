// /support/reputation in headless Chromium (Debian's package, driven by playwright-core) against the
// real stack: 30 days of rollups for four tenants, one of them named to inject markup. The tenants
// closest to a threshold come first, each with two SVG charts and the threshold lines; no script
// runs; a notification's page links to its tenant's charts. Leaves a screenshot in the system's temp
// dir (mailstate-reputation-page.png), which docs/reputation.md describes.
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText is the rendered text a person reads, which is what these assertions check

import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { OPS_ENV, startStack } from "@mailstate/test-support";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpsBrowser, openOpsBrowser, requireChromium } from "./ops-browser.ts";

const SCREENSHOT = join(tmpdir(), "mailstate-reputation-page.png");
const HOSTILE = `<img src=x onerror="document.title='pwned'">`;

let stack: MailstateStack;
let browser: OpsBrowser;
let page: Page;
let notificationId: string;

/**
 * Day i (0 = 29 days ago, 29 = today) of a tenant: `at(i)` gives its counts. One row per day at
 * midnight UTC, in one category and domain.
 */
async function seedDays(
  tenant: string,
  at: (i: number) => [sent: number, delivered: number, hard: number, soft: number, complained: number],
) {
  for (let i = 0; i < 30; i += 1) {
    const [sent, delivered, hard, soft, complained] = at(i);
    await stack.sql.query(
      `INSERT INTO reputation_hourly (hour, tenant, category, from_domain, sent, delivered, hard_bounced, soft_bounced, complained)
       VALUES (date_trunc('day', now(), 'UTC') - make_interval(days => $2), $1, 'news', 'example.test', $3, $4, $5, $6, $7)`,
      [tenant, 29 - i, sent, delivered, hard, soft, complained],
    );
  }
}

beforeAll(async () => {
  requireChromium();
  stack = await startStack("reputation_browser", mailstateSystem, { env: OPS_ENV });
  // Complaints climb from none to 0.5% a day: over Resend's 0.08% and, at the end, Gmail's 0.3%.
  await seedDays("spammy-promo", (i) => [1_000, 990, 2, 1, Math.round((i / 29) * 5)]);
  // Bounces around 3.5% a day: near Resend's 4%, sometimes over.
  await seedDays("bouncy-imports", (i) => [400, 386, 10 + (i % 3), 3, 0]);
  // Clean, with a quiet weekend-like gap every seventh day (no sends: a gap in the line).
  await seedDays("acme", (i) => (i % 7 === 5 ? [0, 0, 0, 0, 0] : [2_000, 1_990, 6, 4, i % 10 === 0 ? 1 : 0]));
  await seedDays(HOSTILE, () => [50, 50, 0, 0, 0]);
  const recorded = await stack.call("POST", "/v1/notifications", {
    to: "ada@example.com",
    from: "Acme <news@acme.test>",
    subject: "Weekly news",
    tenant: "acme",
    category: "news",
  });
  notificationId = recorded.body.notification.id;
  browser = await openOpsBrowser();
  page = browser.page;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe("/support/reputation in Chromium", () => {
  it("without the ops credentials → 401", async () => {
    expect((await fetch(`${stack.baseUrl}/support/reputation`)).status).toBe(401);
  });

  it("lists the tenants closest to a threshold first, with their 30-day rates; the hostile tenant name is text, and no script is on the page", async () => {
    await page.goto(`${stack.baseUrl}/support/reputation`);
    await expect(page.locator("h1").innerText()).resolves.toBe("Reputation");
    const rows = await page.locator("table.rep-table tbody tr").allInnerTexts();
    expect(rows.map((row) => row.split("\t")[0])).toEqual(["spammy-promo", "bouncy-imports", "acme", HOSTILE]);
    // spammy-promo: 75 complaints of 29,700 delivered = 0.25%, 316% of Resend's 0.08%.
    expect(rows[0]).toMatch(/spammy-promo\t30000\t0\.30%\t0\.25%\t316%\tover/);
    expect(rows[1]).toMatch(/^bouncy-imports\t12000\t3\.5%/);
    expect(rows[1]).toMatch(/near$/);
    await expect(page.locator("script").count()).resolves.toBe(0);
    await expect(page.locator("main img").count()).resolves.toBe(0);
    await expect(page.title()).resolves.not.toBe("pwned");
    await expect(page.locator("section.rep-tenant h2").allInnerTexts()).resolves.toContain(HOSTILE);
  });

  it("draws two SVG charts per tenant (bounce, complaint), 30 days each, with the threshold lines labelled; a day without sends is a gap", async () => {
    await expect(page.locator("svg.chart").count()).resolves.toBe(8);
    const first = page.locator("section.rep-tenant").first();
    const svgText = await first.locator("svg.chart").allTextContents();
    expect(svgText[0]).toContain("Resend review 4%");
    expect(svgText[1]).toContain("Resend review 0.08%");
    expect(svgText[1]).toContain("Gmail / Yahoo ceiling 0.3%");
    await expect(first.locator("svg.chart").first().locator("circle").count()).resolves.toBe(30);
    // acme sent nothing on days 5, 12, 19 and 26: 26 dots, and its line is broken in five runs.
    const acme = page
      .locator("section.rep-tenant", { hasText: "acme" })
      .filter({ has: page.locator("h2", { hasText: /^acme$/ }) });
    await expect(acme.locator("svg.chart").first().locator("circle").count()).resolves.toBe(26);
    await expect(acme.locator("svg.chart").first().locator("polyline").count()).resolves.toBe(5);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect((await stat(SCREENSHOT)).size).toBeGreaterThan(20_000);
  });

  it("a notification's page links to its tenant's charts, which show that tenant alone; the header links to every tenant's", async () => {
    await page.goto(`${stack.baseUrl}/support/notifications/${notificationId}`);
    await expect(page.locator("header nav a", { hasText: "Reputation" }).getAttribute("href")).resolves.toBe(
      "/support/reputation",
    );
    await Promise.all([page.waitForURL(/\/support\/reputation\?tenant=acme$/), page.click("a.reputation")]);
    await expect(page.locator("h1").innerText()).resolves.toBe("Reputation: acme");
    await expect(page.locator("table.rep-table tbody tr").count()).resolves.toBe(1);
    await expect(page.locator("svg.chart").count()).resolves.toBe(2);
  });

  it("a tenant name over 200 characters → 400 page", async () => {
    await page.goto(`${stack.baseUrl}/support/reputation?tenant=${"t".repeat(201)}`);
    await expect(page.locator("h1").innerText()).resolves.toBe("That tenant cannot be read");
  });
});
