// Long URLs at the edge, on the real API: over MAX_URL_LENGTH they answer 414 problem+json before
// any routing, logging or auth, and a flood of them does not hold up signed webhooks.
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { inboxEvents, newSvixId, resendEvent, signedWebhookHeaders, startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let small: MailstateStack;

beforeAll(async () => {
  [stack, small] = await Promise.all([
    startStack("hostile_urls", mailstateSystem, { env: { LOG_LEVEL: "info" } }),
    startStack("hostile_urls_small", mailstateSystem, { env: { MAX_URL_LENGTH: "1000" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.close(), small?.close()]);
});

const pathOf = (length: number, prefix = "/v1/notifications/") => prefix + "a".repeat(length - prefix.length);

async function get(target: MailstateStack, path: string) {
  const response = await fetch(`${target.baseUrl}${path}`);
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text };
}

describe("URL length cap (MAX_URL_LENGTH, default 8192)", () => {
  it("input: GET of a 9,000-character path, no credentials → 414 problem+json uri-too-long, not 401", async () => {
    const answer = await get(stack, pathOf(9_000));
    expect(answer.status).toBe(414);
    expect(answer.contentType).toContain("application/problem+json");
    expect(JSON.parse(answer.text)).toMatchObject({
      type: "https://mailstate.dev/problems/uri-too-long",
      status: 414,
      detail: "the URL is over 8192 characters",
    });
  });

  it("input: a path of exactly 8192 characters, no credentials → 401 (under the cap, it reaches auth)", async () => {
    expect((await get(stack, pathOf(8_192))).status).toBe(401);
  });

  it("input: a signed webhook posted to /webhooks/resend?pad=<9,000 characters> → 414, nothing enqueued", async () => {
    const svixId = newSvixId();
    const body = JSON.stringify(resendEvent("email.delivered", "re_long_url", 1, "ada@example.com"));
    const response = await fetch(`${stack.baseUrl}${pathOf(9_000, "/webhooks/resend?pad=")}`, {
      method: "POST",
      headers: signedWebhookHeaders(svixId, body),
      body,
    });
    expect(response.status).toBe(414);
    expect(await stack.queues.inbox.getJobCounts("waiting", "delayed")).toEqual({ waiting: 0, delayed: 0 });
  });

  it("input: MAX_URL_LENGTH=1000 and a 1,001-character path → 414; 1,000 characters → 401", async () => {
    expect((await get(small, pathOf(1_001))).status).toBe(414);
    expect((await get(small, pathOf(1_000))).status).toBe(401);
  });
});

describe("a flood of long URLs while webhooks arrive", () => {
  it("input: 8 clients sending 15 KB paths without pause, 200 signed webhooks over 8 connections → every webhook 200, every flood request 414", async () => {
    let flooding = true;
    const floodStatuses: number[] = [];
    const floodPath = pathOf(15 * 1024);
    const flood = Array.from({ length: 8 }, async () => {
      while (flooding) floodStatuses.push((await get(stack, floodPath)).status);
    });

    const webhookStatuses: number[] = [];
    let next = 0;
    const webhooks = Array.from({ length: 8 }, async () => {
      for (let i = next++; i < 200; i = next++) {
        const svixId = newSvixId();
        const body = JSON.stringify(resendEvent("email.delivered", `re_flood_${i}`, 1, `user${i}@example.com`));
        const response = await fetch(`${stack.baseUrl}/webhooks/resend`, {
          method: "POST",
          headers: signedWebhookHeaders(svixId, body),
          body,
        });
        await response.text();
        webhookStatuses.push(response.status);
      }
    });
    await Promise.all(webhooks);
    flooding = false;
    await Promise.all(flood);

    expect(webhookStatuses).toHaveLength(200);
    expect(new Set(webhookStatuses)).toEqual(new Set([200]));
    expect(floodStatuses.length).toBeGreaterThan(8);
    expect(new Set(floodStatuses)).toEqual(new Set([414]));
    expect((await inboxEvents(stack.queues.inbox)).length).toBe(200);
  });
});
