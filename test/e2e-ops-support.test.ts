// The support pages over HTTP, without a browser: what they escape, how the one search box reads
// a query, and that empty states, bad input and unknown pages answer readable HTML.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { basicAuth, deliverWebhook, OPS_ENV, resendEvent, startStack, waitUntil } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;

beforeAll(async () => {
  stack = await startStack("ops_support", mailstateSystem, { env: OPS_ENV });
  await stack.startWorker();
});
afterAll(async () => {
  await stack?.close();
});

async function page(path: string) {
  const response = await fetch(`${stack.baseUrl}${path}`, { headers: { authorization: basicAuth() } });
  expect(response.headers.get("content-type")).toContain("text/html");
  return { status: response.status, text: await response.text() };
}

async function record(body: Record<string, unknown>): Promise<string> {
  const answer = await stack.call("POST", "/v1/notifications", { from: "hello@acme.test", subject: "Hi", ...body });
  expect(answer.status).toBe(201);
  return answer.body.notification.id;
}

describe("support pages over HTTP", () => {
  it("an empty system → the search page says nothing is recorded yet", async () => {
    const { status, text } = await page("/support");
    expect(status).toBe(200);
    expect(text).toContain("No notifications recorded yet.");
  });

  it("escapes what the data holds: subject, sender, tags, tenant, a clicked javascript: link (shown, never linked)", async () => {
    const emailId = randomUUID();
    const to = `${randomUUID()}@ops.test`;
    const id = await record({
      to,
      subject: `<script>alert("subject")</script>`,
      from: `"Evil" <evil@acme.test>`,
      tenant: `</td><script>alert(1)</script>`,
      tags: { '"><img src=x>': "<svg onload=alert(1)>" },
      resendEmailId: emailId,
    });
    await deliverWebhook(
      stack.baseUrl,
      resendEvent("email.clicked", emailId, 5, to, {
        click: {
          link: "javascript:alert(document.cookie)",
          timestamp: "2026-11-22T10:00:05.000Z",
          ipAddress: "<b>ip</b>",
        },
      }),
    );
    const { text } = await waitUntil(
      "the click on the page",
      async () => {
        const answer = await page(`/support/notifications/${id}`);
        return answer.text.includes("email.clicked") ? answer : undefined;
      },
      10_000,
    );
    expect(text).not.toMatch(/<script>alert|<img src=x|<svg|<b>ip/);
    expect(text).toContain("&lt;script&gt;alert(&quot;subject&quot;)&lt;/script&gt;");
    expect(text).toContain("&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(text).toContain("&quot;&gt;&lt;img src=x&gt;: &lt;svg onload=alert(1)&gt;");
    expect(text).toContain("javascript:alert(document.cookie)");
    expect(text).not.toContain('href="javascript:');
    expect(text).not.toContain("<script"); // the page runs no script at all
  });

  it("one search box: an address (any case, with a name) searches recipients; a UUID finds either id; other ids find a Resend email id", async () => {
    const to = `${randomUUID()}@ops.test`;
    const resendUuid = randomUUID();
    const byUuid = await record({ to, subject: "By Resend UUID", resendEmailId: resendUuid });
    const byText = await record({ to, subject: "By Resend text id", resendEmailId: `re_${randomUUID()}` });
    const unattached = await record({ to, subject: "Not attached yet" });

    const recipients = await page(`/support?q=${encodeURIComponent(` Ada <${to.toUpperCase()}> `)}`);
    for (const subject of ["By Resend UUID", "By Resend text id", "Not attached yet"])
      expect(recipients.text).toContain(subject);
    expect(recipients.text).toContain("3 notifications sent to this address.");

    for (const [query, subject] of [
      [byUuid, "By Resend UUID"],
      [resendUuid, "By Resend UUID"],
      [(await stack.call("GET", `/v1/notifications/${byText}`)).body.resendEmailId, "By Resend text id"],
    ] as const) {
      const found = await page(`/support?q=${encodeURIComponent(query)}`);
      expect(found.text).toContain("1 notification with this notification id or Resend email id.");
      expect(found.text).toContain(subject);
    }

    const none = await page(`/support?q=${encodeURIComponent("re_does_not_exist")}`);
    expect(none.status).toBe(200);
    expect(none.text).toContain("Nothing matches “re_does_not_exist”.");

    const waiting = await page(`/support/notifications/${unattached}`);
    expect(waiting.text).toContain("No Resend email id is attached yet");
  });

  it("input: a Resend email id no notification carries, with two events parked under it → the search lists them and says how they will apply", async () => {
    const emailId = randomUUID();
    const to = `${randomUUID()}@ops.test`;
    const sent = await deliverWebhook(stack.baseUrl, resendEvent("email.sent", emailId, 1, to));
    const delivered = await deliverWebhook(stack.baseUrl, resendEvent("email.delivered", emailId, 2, to));
    const { text } = await waitUntil(
      "both events parked",
      async () => {
        const answer = await page(`/support?q=${emailId}`);
        return answer.text.includes(delivered) && answer.text.includes(sent) ? answer : undefined;
      },
      10_000,
    );
    expect(text).toContain("2 events are parked under this Resend email id.");
    expect(text).toContain("email.delivered");
    expect(text).not.toContain("Nothing matches");
    const nothing = await page(`/support?q=${randomUUID()}`);
    expect(nothing.text).toContain("Nothing matches");
  });

  it("input: a send Resend refused (reported through PATCH sendError, with a <b> in the message) → the page says so, escaped, with no Resend id", async () => {
    const id = await record({ to: `${randomUUID()}@ops.test`, subject: "Refused send" });
    const sendError = { name: "validation_error", message: "Invalid `to` <b>field</b>", statusCode: 422 };
    expect((await stack.call("PATCH", `/v1/notifications/${id}`, { sendError })).status).toBe(200);
    const { status, text } = await page(`/support/notifications/${id}`);
    expect(status).toBe(200);
    expect(text).toContain("none: Resend refused the send");
    expect(text).toContain("refused by Resend</span> validation_error (422): Invalid `to` &lt;b&gt;field&lt;/b&gt;");
  });

  it("a recipient's results page on: 25 per page, then an “older” link with a cursor", async () => {
    const to = `${randomUUID()}@ops.test`;
    for (let index = 0; index < 27; index += 1) await record({ to, subject: `Bulk ${index}` });
    const first = await page(`/support?q=${encodeURIComponent(to)}`);
    expect(first.text.match(/<tr>/g)?.length).toBe(26); // header + 25
    const next = /href="(\/support\?q=[^"]+cursor=[^"]+)"/.exec(first.text)?.[1]?.replaceAll("&amp;", "&");
    expect(next).toBeDefined();
    const second = await page(next ?? "");
    expect(second.text.match(/<tr>/g)?.length).toBe(3);
    expect(second.text).not.toContain("Older notifications");
  });

  it("bad input and unknown pages → readable 400 and 404 pages", async () => {
    const twice = await page("/support?q=a&q=b");
    expect(twice.status).toBe(400);
    expect(twice.text).toContain("That search cannot be read");
    for (const path of ["/support/notifications/not-a-uuid", `/support/notifications/${randomUUID()}`]) {
      const missing = await page(path);
      expect(missing.status).toBe(404);
      expect(missing.text).toContain("Notification not found");
    }
    const nowhere = await page("/support/nowhere");
    expect(nowhere.status).toBe(404);
    expect(nowhere.text).toContain("Page not found");
  });
});
