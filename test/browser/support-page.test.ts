// The support page in headless Chromium (Debian's package, driven by playwright-core) against the
// real stack: search by recipient and by Message-ID, open a notification, read its timeline —
// parked-then-replayed, delivery, engagement with the clicked link — and its recipients'
// suppressions; a cancelled send's canceled state. Leaves a screenshot in
// test-results/support-timeline.png.
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText is the rendered text a person reads, which is what these assertions check

import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { deliverWebhook, OPS_ENV, resendEvent, startStack, waitUntil } from "@mailstate/test-support";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpsBrowser, openOpsBrowser, requireChromium } from "./ops-browser.ts";

const SCREENSHOT = join(import.meta.dirname, "../../test-results/support-timeline.png");

let stack: MailstateStack;
let browser: OpsBrowser;
let page: Page;

const run = randomUUID().slice(0, 8);
const BOARD_SCREENSHOT = join(import.meta.dirname, "../../test-results/bull-board-unmatched.png");
/** An email Resend reports on that no notification carries: its events wait in the unmatched queue. */
const strayEmailId = `re_stray_${randomUUID()}`;
const linus = `linus+${run}@example.com`;
const ada = `ada.lovelace+${run}@example.com`;
const grace = `grace.hopper+${run}@example.com`;
const emailId = `re_${randomUUID()}`;
/** The receipt's Message-ID, as its events carry it and a forwarded copy's headers show it. */
const receiptMessageId = `<0102018f${run}-${randomUUID()}-000000@email.amazonses.com>`;
const aboutReceipt = { message_id: receiptMessageId };
let notificationId: string;
let bounceSvixId: string;

async function timelineLength(id: string): Promise<number> {
  const answer = await stack.call("GET", `/v1/notifications/${id}/timeline`);
  return answer.body.events.length;
}

/** Grace hard-bounced an earlier email; then the receipt: its `sent` arrives before the send is
 *  recorded (parked, then replayed), then delivered, an open and a click; then Ada soft-bounces. */
async function seed(): Promise<void> {
  const earlierId = randomUUID();
  const earlier = await stack.call("POST", "/v1/notifications", {
    to: grace,
    from: "Acme <hello@acme.test>",
    subject: "Welcome to Acme",
    resendEmailId: earlierId,
  });
  bounceSvixId = await deliverWebhook(
    stack.baseUrl,
    resendEvent("email.bounced", earlierId, 0, grace, {
      bounce: { type: "Permanent", subType: "General", message: "550 5.1.1 mailbox does not exist" },
    }),
  );
  await waitUntil(
    "the earlier bounces",
    async () => ((await timelineLength(earlier.body.notification.id)) === 1 ? true : undefined),
    10_000,
  );

  await deliverWebhook(stack.baseUrl, resendEvent("email.sent", emailId, 1, ada, aboutReceipt));
  await stack.drained();
  const recorded = await stack.call("POST", "/v1/notifications", {
    to: [ada, grace],
    from: "Acme Billing <billing@acme.test>",
    subject: "Your receipt for order #4242",
    tenant: "acme-corp",
    category: "receipt",
    tags: { plan: "pro", region: "eu" },
    resendEmailId: emailId,
    suppressionBypassed: true,
  });
  expect(recorded.status).toBe(201);
  notificationId = recorded.body.notification.id;
  await deliverWebhook(stack.baseUrl, resendEvent("email.delivered", emailId, 3, ada, aboutReceipt));
  await deliverWebhook(stack.baseUrl, resendEvent("email.opened", emailId, 40, ada, aboutReceipt));
  await deliverWebhook(
    stack.baseUrl,
    resendEvent("email.clicked", emailId, 45, ada, {
      ...aboutReceipt,
      click: {
        link: "https://acme.test/orders/4242?utm_source=receipt",
        timestamp: "2026-11-22T10:00:45.000Z",
        ipAddress: "203.0.113.9",
        userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15",
      },
    }),
  );
  await waitUntil(
    "the receipt's four events",
    async () => ((await timelineLength(notificationId)) === 4 ? true : undefined),
    10_000,
  );

  // After the receipt's delivery (which ends any run of soft bounces), a later digest soft-bounces.
  const digestId = randomUUID();
  const digest = await stack.call("POST", "/v1/notifications", {
    to: ada,
    from: "hello@acme.test",
    subject: "Your weekly digest",
    resendEmailId: digestId,
  });
  await deliverWebhook(
    stack.baseUrl,
    resendEvent("email.bounced", digestId, 50, ada, {
      bounce: { type: "Transient", subType: "MailboxFull", message: "452 4.2.2 mailbox full" },
    }),
  );
  await waitUntil(
    "the digest's bounce",
    async () => ((await timelineLength(digest.body.notification.id)) === 1 ? true : undefined),
    10_000,
  );
  await stack.drained();

  await deliverWebhook(
    stack.baseUrl,
    resendEvent("email.delivered", strayEmailId, 7, linus, { subject: "Your March invoice" }),
  );
  await stack.drained();

  // Something to escape, listed beside the receipt when searching for Ada.
  await stack.call("POST", "/v1/notifications", {
    to: ada,
    from: "hello@acme.test",
    subject: `<img src=x onerror="document.title='pwned'"> & <b>bold</b>`,
    tags: { "<script>": "alert(1)" },
  });
}

beforeAll(async () => {
  requireChromium();
  stack = await startStack("support_browser", mailstateSystem, { env: OPS_ENV });
  await stack.startWorker();
  await seed();
  browser = await openOpsBrowser();
  page = browser.page;
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe("the support page in Chromium", () => {
  it("search by recipient → a results list with the receipt; nothing from the data runs as markup", async () => {
    await page.goto(`${stack.baseUrl}/support`);
    await expect(page.title()).resolves.toContain("mailstate support");
    await page.fill('input[name="q"]', `  ${ada.toUpperCase()} `);
    await Promise.all([page.waitForURL(/\/support\?q=/), page.click('button[type="submit"]')]);

    const rows = page.locator("table.results tbody tr");
    await expect(rows.count()).resolves.toBe(3);
    const texts = await rows.allInnerTexts();
    expect(texts.some((text) => text.includes("Your receipt for order #4242") && text.includes("Delivered"))).toBe(
      true,
    );
    // The hostile subject shows as text, and made no element.
    expect(texts.some((text) => text.includes(`<img src=x onerror="document.title='pwned'"> & <b>bold</b>`))).toBe(
      true,
    );
    await expect(page.locator("table.results img, table.results b").count()).resolves.toBe(0);
    await expect(page.title()).resolves.not.toBe("pwned");
  });

  it("open the notification → state badge, facts, recipients with their suppressions, and the timeline in event time", async () => {
    await Promise.all([
      page.waitForURL(new RegExp(`/support/notifications/${notificationId}$`)),
      page.click("text=Your receipt for order #4242"),
    ]);
    await expect(page.locator("h1").innerText()).resolves.toMatch(/Your receipt for order #4242\s+Delivered/);
    const facts = await page.locator("dl.facts").innerText();
    for (const expected of [notificationId, emailId, "acme-corp", "receipt", "plan: pro", "region: eu", "bypassed"]) {
      expect(facts).toContain(expected);
    }

    const recipients = page.locator("table.recipients tbody tr");
    await expect(recipients.count()).resolves.toBe(2);
    const cells = async (row: number) => recipients.nth(row).locator("td").allInnerTexts();
    const [adaCells, graceCells] = [await cells(0), await cells(1)];
    expect(adaCells.slice(0, 3)).toEqual([ada, "No", "—"]);
    expect(adaCells[5]).toMatch(/^1\nlast 2026-/); // one soft bounce in a row, and when
    expect(graceCells.slice(0, 3)).toEqual([grace, "Suppressed", "hard bounce"]);
    expect(graceCells[3]).toBe(bounceSvixId);
    expect(graceCells[5]).toBe("0");

    const timeline = page.locator("table.timeline tbody tr");
    const events = await timeline.evaluateAll((rows) =>
      rows.map((row) => [
        row.querySelector("td:nth-child(3) strong")?.textContent,
        row.querySelector(".badge")?.textContent,
      ]),
    );
    expect(events).toEqual([
      ["email.sent", "Sent"],
      ["email.delivered", "Delivered"],
      ["email.opened", "Delivered"],
      ["email.clicked", "Delivered"],
    ]);
    // The sent event was parked before the send was recorded, then replayed; the others were not.
    await expect(timeline.nth(0).locator(".tag.parked").innerText()).resolves.toBe("parked, then replayed");
    await expect(page.locator("table.timeline .tag.parked").count()).resolves.toBe(1);
    await expect(page.locator("p.notice").innerText()).resolves.toContain(
      "1 event arrived before this notification carried Resend's email id",
    );
    // Event time and received time side by side: the fixtures' events happened on 2026-11-22.
    await expect(timeline.nth(1).locator("td").nth(0).innerText()).resolves.toBe("2026-11-22 10:00:03.000 UTC");
    const link = timeline.nth(3).locator("a");
    await expect(link.getAttribute("href")).resolves.toBe("https://acme.test/orders/4242?utm_source=receipt");
    await expect(link.getAttribute("rel")).resolves.toBe("noopener noreferrer nofollow");

    await mkdir(join(SCREENSHOT, ".."), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  });

  it("the recipient link and the source-event anchor lead where they say", async () => {
    // The bounce belongs to another notification, so its svix-id is shown but not linked here.
    await expect(page.locator(`table.recipients a[href="#event-${bounceSvixId}"]`).count()).resolves.toBe(0);
    await Promise.all([page.waitForURL(/\/support\?q=/), page.click(`table.recipients a:text("${grace}")`)]);
    await expect(page.locator("table.results tbody tr").count()).resolves.toBe(2);
  });

  it("search by Resend email id and by notification id → the one notification; nonsense → a readable empty state", async () => {
    for (const query of [emailId, notificationId]) {
      await page.goto(`${stack.baseUrl}/support?q=${encodeURIComponent(query)}`);
      const rows = await page.locator("table.results tbody tr").allInnerTexts();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toContain("Your receipt for order #4242");
    }
    await page.goto(`${stack.baseUrl}/support?q=${encodeURIComponent("nobody@nowhere.test")}`);
    await expect(page.locator(".empty").innerText()).resolves.toContain("Nothing matches “nobody@nowhere.test”.");
  });

  it("type the receipt's Message-ID, angle brackets and all, into the search box → the receipt alone; open it → its Message-ID among its facts", async () => {
    await page.goto(`${stack.baseUrl}/support`);
    await page.fill('input[name="q"]', receiptMessageId);
    await Promise.all([page.waitForURL(/\/support\?q=/), page.click('button[type="submit"]')]);
    await expect(page.locator("p.lead").innerText()).resolves.toBe("1 notification with this Message-ID.");
    const rows = await page.locator("table.results tbody tr").allInnerTexts();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain("Your receipt for order #4242");

    await Promise.all([
      page.waitForURL(new RegExp(`/support/notifications/${notificationId}$`)),
      page.click("text=Your receipt for order #4242"),
    ]);
    const messageIdFact = page
      .locator("dl.facts dt", { hasText: "Message-ID" })
      .locator("xpath=following-sibling::dd[1]");
    await expect(messageIdFact.innerText()).resolves.toBe(receiptMessageId);
  });

  it("search by the receipt's Message-ID without its angle brackets → the receipt alone", async () => {
    await page.goto(`${stack.baseUrl}/support?q=${encodeURIComponent(receiptMessageId.slice(1, -1))}`);
    const rows = await page.locator("table.results tbody tr").allInnerTexts();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain("Your receipt for order #4242");
  });

  it("a scheduled send cancelled (Resend's email.failed, reason canceled) → its search row and its page show the canceled badge; its timeline goes scheduled → canceled", async () => {
    const canceledEmailId = `re_${randomUUID()}`;
    const hedy = `hedy.lamarr+${run}@example.com`;
    const recorded = await stack.call("POST", "/v1/notifications", {
      to: hedy,
      from: "Acme <hello@acme.test>",
      subject: "Your renewal reminder",
      resendEmailId: canceledEmailId,
    });
    expect(recorded.status).toBe(201);
    const id: string = recorded.body.notification.id;
    await deliverWebhook(stack.baseUrl, resendEvent("email.scheduled", canceledEmailId, 1, hedy));
    await deliverWebhook(
      stack.baseUrl,
      resendEvent("email.failed", canceledEmailId, 2, hedy, { failed: { reason: "canceled" } }),
    );
    await waitUntil(
      "the send to be canceled",
      async () => (await stack.db.notification.findUnique({ where: { id } }))?.state === "canceled",
      10_000,
    );

    await page.goto(`${stack.baseUrl}/support?q=${encodeURIComponent(hedy)}`);
    const rows = page.locator("table.results tbody tr");
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.locator(".badge.state-canceled").innerText()).resolves.toBe("Canceled before sending");

    await Promise.all([
      page.waitForURL(new RegExp(`/support/notifications/${id}$`)),
      page.click("text=Your renewal reminder"),
    ]);
    await expect(page.locator("h1").innerText()).resolves.toMatch(/Your renewal reminder\s+Canceled before sending/);
    await expect(page.locator("h1 .badge.state-canceled").count()).resolves.toBe(1);
    const events = await page
      .locator("table.timeline tbody tr")
      .evaluateAll((timelineRows) =>
        timelineRows.map((row) => [
          row.querySelector("td:nth-child(3) strong")?.textContent,
          row.querySelector(".badge")?.textContent,
        ]),
      );
    expect(events).toEqual([
      ["email.scheduled", "Scheduled"],
      ["email.failed", "Canceled before sending"],
    ]);
  });

  it("an unknown notification → a readable 404 page", async () => {
    const response = await page.goto(`${stack.baseUrl}/support/notifications/${randomUUID()}`);
    expect(response?.status()).toBe(404);
    await expect(page.locator("h1").innerText()).resolves.toBe("Notification not found");
    await expect(page.locator("a", { hasText: "Back to search" }).count()).resolves.toBe(1);
  });
});

describe("Bull Board in Chromium", () => {
  it("the unmatched queue's parked job shows the event type, the recipient, the subject, how long it has waited and the support link", async () => {
    await page.goto(`${stack.baseUrl}/admin/queues/queue/unmatched?status=delayed`);
    const card = page.locator(`text=unmatched-${strayEmailId}`).first();
    await card.waitFor({ timeout: 15_000 });
    // The job's data, as Bull Board renders it (keys unquoted), and its "Added at": when it was parked.
    const text = await page.locator("main").innerText();
    expect(text).toContain('type:"email.delivered"');
    expect(text).toContain(`recipient:"${linus}"`);
    expect(text).toContain('subject:"Your March invoice"');
    expect(text).toContain('occurredAt:"2026-11-22T10:00:07.000Z"');
    expect(text).toMatch(/parkedAt:"20\d\d-\d\d-\d\dT/);
    expect(text).toContain(`supportUrl:"/support?q=${strayEmailId}"`);
    expect(text).toMatch(/Added at\s+\d{1,2}:\d\d:\d\d/);
    await expect(page.locator("header").innerText()).resolves.toContain(
      "One job per Resend email id that no notification carries yet",
    );
    await mkdir(join(BOARD_SCREENSHOT, ".."), { recursive: true });
    await page.screenshot({ path: BOARD_SCREENSHOT, fullPage: true });
  });
});
