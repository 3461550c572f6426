// The stand-in's webhooks as an endpoint receives them: signed (verified with the svix package), in
// Resend's payload shapes, late, out of order, now and then twice, and retried on failure.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type EmailEvent, isEmailEvent, parseResendEvent, parseResendTimestamp } from "@mailstate/resend-events";
import { Resend } from "resend";
import { Webhook } from "svix";
import { afterEach, describe, expect, it } from "vitest";
import { createResendStandin, type ResendStandin, type WebhookOptions } from "./index.ts";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

interface Received {
  svixId: string;
  timestamp: string;
  body: string;
  event: EmailEvent;
  status: number;
}

interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/** An endpoint that verifies every post like the API does; `answer` picks the status per svix-id and attempt. */
async function startReceiver(answer: (svixId: string, attempt: number) => number = () => 200): Promise<Receiver> {
  const received: Received[] = [];
  const attempts = new Map<string, number>();
  const verifier = new Webhook(SECRET);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const headers = {
        "svix-id": String(req.headers["svix-id"]),
        "svix-timestamp": String(req.headers["svix-timestamp"]),
        "svix-signature": String(req.headers["svix-signature"]),
      };
      verifier.verify(body, headers); // throws on a bad signature, failing the test through a 500 and a missing row
      const event = parseResendEvent(JSON.parse(body));
      if (!isEmailEvent(event)) throw new Error(`not an email event: ${event.type}`);
      const attempt = (attempts.get(headers["svix-id"]) ?? 0) + 1;
      attempts.set(headers["svix-id"], attempt);
      const status = answer(headers["svix-id"], attempt);
      received.push({ svixId: headers["svix-id"], timestamp: headers["svix-timestamp"], body, event, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/resend`,
    received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// Map.groupBy is Node 21+.
function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

const opened: { standin: ResendStandin; receiver: Receiver }[] = [];
afterEach(async () => {
  for (const { standin, receiver } of opened.splice(0)) {
    await standin.close();
    await receiver.close();
  }
});

async function setup(webhook: Omit<WebhookOptions, "url" | "secret">, answer?: (svixId: string, n: number) => number) {
  const receiver = await startReceiver(answer);
  const standin = await createResendStandin({ webhook: { url: receiver.url, secret: SECRET, ...webhook } });
  opened.push({ standin, receiver });
  return { standin, receiver, resend: new Resend("re_test_key", { baseUrl: standin.url }) };
}

const email = (
  to: string,
  html = `<p>Hi</p><a href="https://acme.test/welcome?u=${encodeURIComponent(to)}">go</a>`,
) => ({
  from: "Acme <hello@acme.test>",
  to: [to],
  subject: "Welcome",
  html,
  tags: [{ name: "category", value: "welcome" }],
});

const fast = { maxDelayMs: 20, lifecycleMs: 40, retry: { attempts: 3, baseDelayMs: 10 } };
/** No opens or clicks: a delivered email is exactly sent + delivered. */
const quiet = { open: 0, click: 0, delay: 0 };

describe("webhooks", () => {
  it("40 emails → every planned event posted once, signed (svix verifies), parsing as Resend's shapes, with both timestamp forms", async () => {
    const { standin, receiver, resend } = await setup({ ...fast, seed: 7, duplicateRate: 0 });
    const { data } = await resend.batch.send(Array.from({ length: 40 }, (_, i) => email(`user${i}@example.com`)));
    await standin.idle(5_000);
    const plannedIds = [...(standin.webhooks?.plans.values() ?? [])].flatMap((plan) => plan.svixIds);
    expect(plannedIds.length).toBeGreaterThanOrEqual(80);
    expect(receiver.received.map((row) => row.svixId).sort()).toEqual([...plannedIds].sort());
    expect(standin.counters).toMatchObject({ posted: plannedIds.length, delivered: plannedIds.length, failed: 0 });
    for (const row of receiver.received) {
      expect(data?.data.map((item) => item.id)).toContain(row.event.data.email_id);
      expect(row.svixId).toMatch(/^msg_[0-9A-Za-z]{27}$/);
      expect(Math.abs(Number(row.timestamp) - Date.now() / 1000)).toBeLessThan(60);
      expect(row.event.data.tags).toEqual({ category: "welcome" });
    }
    const stamps = receiver.received.map((row) => (JSON.parse(row.body) as { created_at: string }).created_at);
    expect(stamps.some((stamp) => stamp.endsWith("Z"))).toBe(true);
    expect(stamps.some((stamp) => /\.\d{6}\+00:00$/.test(stamp))).toBe(true);
    // Each email's events, in event time, follow Resend's order: sent first, the outcome after.
    for (const plan of standin.webhooks?.plans.values() ?? []) {
      const types = receiver.received
        .filter((row) => row.event.data.email_id === plan.emailId)
        .sort((a, b) =>
          Number(
            parseResendTimestamp(a.event.created_at).epochMicros - parseResendTimestamp(b.event.created_at).epochMicros,
          ),
        )
        .map((row) => row.event.type);
      expect(types).toEqual(plan.events.map((event) => event.type));
      expect(types[0]).toBe("email.sent");
    }
  });

  it("clicks carry the html's first link, a user agent and an IP; opens come with every click", async () => {
    const { standin, receiver, resend } = await setup({
      ...fast,
      seed: 3,
      duplicateRate: 0,
      rates: { click: 1, bounce: 0, softBounce: 0, complaint: 0 },
    });
    await resend.emails.send(
      email("ada@example.com", '<p>Reset</p><a href="https://acme.test/reset?token=abc">reset</a>'),
    );
    await standin.idle(5_000);
    const types = receiver.received.map((row) => row.event.type).sort();
    expect(types).toEqual(["email.clicked", "email.delivered", "email.opened", "email.sent"]);
    const click = receiver.received.find((row) => row.event.type === "email.clicked")?.event;
    if (click?.type !== "email.clicked") throw new Error("no click");
    expect(click.data.click).toMatchObject({ link: "https://acme.test/reset?token=abc" });
    expect(click.data.click.userAgent).toMatch(/^Mozilla/);
    expect(click.data.click.ipAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it("a 500 twice, then 200 → posted again with backoff until accepted; counters say so", async () => {
    const { standin, receiver, resend } = await setup(
      { ...fast, rates: quiet, seed: 1, duplicateRate: 0 },
      (_, attempt) => (attempt <= 2 ? 500 : 200),
    );
    await resend.emails.send(email("delivered@resend.dev"));
    await standin.idle(5_000);
    const accepted = receiver.received.filter((row) => row.status === 200);
    expect(accepted.map((row) => row.event.type).sort()).toEqual(["email.delivered", "email.sent"].sort());
    expect(receiver.received).toHaveLength(6);
    expect(standin.counters).toMatchObject({ posted: 6, retried: 4, delivered: 2, failed: 0 });
    // Every retry is signed afresh and keeps its svix-id and its bytes.
    const sent = receiver.received.filter((row) => row.event.type === "email.sent");
    expect(new Set(sent.map((row) => row.svixId)).size).toBe(1);
    expect(new Set(sent.map((row) => row.body)).size).toBe(1);
  });

  it("an endpoint that always answers 500 → given up after the retries, counted as failed", async () => {
    const { standin, receiver, resend } = await setup({ ...fast, rates: quiet, seed: 1, duplicateRate: 0 }, () => 500);
    await resend.emails.send(email("bounced@resend.dev"));
    await standin.idle(5_000);
    expect(receiver.received).toHaveLength(2 * 4);
    expect(standin.counters).toMatchObject({ posted: 8, retried: 6, delivered: 0, failed: 2 });
    expect(standin.webhooks?.deliveries.filter((delivery) => delivery.ok || delivery.attempts !== 4)).toEqual([]);
    expect(standin.webhooks?.deliveries).toHaveLength(2);
  });

  it("duplicateRate 1 → every svix-id posted twice with the same body", async () => {
    const { standin, receiver, resend } = await setup({ ...fast, rates: quiet, seed: 5, duplicateRate: 1 });
    await resend.emails.send(email("delivered@resend.dev"));
    await standin.idle(5_000);
    const byId = groupBy(receiver.received, (row) => row.svixId);
    expect(byId.size).toBe(2);
    for (const rows of byId.values()) {
      expect(rows).toHaveLength(2);
      expect(rows[0]?.body).toBe(rows[1]?.body);
    }
    expect(standin.counters).toMatchObject({ duplicates: 2, delivered: 4 });
  });

  it("a jitter window wider than the lifecycle → some emails' events arrive out of event order", async () => {
    const { standin, receiver, resend } = await setup({ maxDelayMs: 300, lifecycleMs: 30, seed: 11, duplicateRate: 0 });
    await resend.batch.send(Array.from({ length: 30 }, (_, i) => email(`delivered+${i}@resend.dev`)));
    await standin.idle(5_000);
    const outOfOrder = [...groupBy(receiver.received, (row) => row.event.data.email_id).values()].filter((rows) =>
      rows.some((row, i) => i > 0 && row.event.type === "email.sent"),
    );
    expect(outOfOrder.length).toBeGreaterThan(0);
  });

  it("the same seed → the same outcomes for the same sends; Resend's test addresses force theirs", async () => {
    const outcomes = async (seed: number) => {
      const { standin, resend } = await setup({ ...fast, seed, rates: { bounce: 0.3, complaint: 0.2, pending: 0.2 } });
      for (let i = 0; i < 20; i++) await resend.emails.send(email(`user${i}@example.com`));
      const forced = await resend.emails.send(email("complained+x@resend.dev"));
      await standin.idle(5_000);
      const plans = [...(standin.webhooks?.plans.values() ?? [])];
      expect(standin.webhooks?.plans.get(forced.data?.id ?? "")?.outcome).toBe("complained");
      return plans.map((plan) => [plan.outcome, plan.delayed, plan.events.map((event) => event.type)]);
    };
    const first = await outcomes(42);
    expect(await outcomes(42)).toEqual(first);
    expect(await outcomes(43)).not.toEqual(first);
  });

  it("a hard-bounced address is on the stand-in's suppression list: the next email to it → email.suppressed only", async () => {
    const { standin, receiver, resend } = await setup({ ...fast, seed: 2, duplicateRate: 0 });
    await resend.emails.send(email("bounced@resend.dev"));
    await standin.idle(5_000);
    receiver.received.length = 0;
    await resend.emails.send(email("Bounced <BOUNCED@resend.dev>"));
    await standin.idle(5_000);
    expect(receiver.received.map((row) => row.event.type)).toEqual(["email.suppressed"]);
  });

  it("an idempotent replay of POST /emails → no second lifecycle", async () => {
    const { standin, resend } = await setup({ ...fast, rates: quiet, seed: 2, duplicateRate: 0 });
    await resend.emails.send(email("delivered@resend.dev"), { idempotencyKey: "k-1" });
    await resend.emails.send(email("delivered@resend.dev"), { idempotencyKey: "k-1" });
    await standin.idle(5_000);
    expect(standin.webhooks?.plans.size).toBe(1);
    expect(standin.counters.delivered).toBe(2);
  });

  it("rates that add up past 1 → a RangeError naming them", async () => {
    await expect(
      createResendStandin({
        webhook: { url: "http://127.0.0.1:1/", secret: SECRET, rates: { bounce: 0.7, pending: 0.5 } },
      }),
    ).rejects.toThrow(/≤ 1/);
  });
});
