// Outbound webhooks with OUTBOUND_ALLOW_PRIVATE unset: endpoints on loopback, private, link-local or
// unspecified addresses are refused at registration, and a name that resolves to one is refused at
// send time, never connected to.
import { randomUUID } from "node:crypto";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { type HttpReceiver, startStack, waitUntil } from "@mailstate/test-support";
import { runMailstate } from "@mailstate/worker/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver } from "./outbound-fixtures.ts";

describe("OUTBOUND_ALLOW_PRIVATE unset: private and loopback targets are refused", () => {
  let stack: MailstateStack;
  let receiver: HttpReceiver;

  beforeAll(async () => {
    stack = await startStack("e2e_outbound_private", mailstateSystem, {
      env: { OUTBOUND_RETRY_BASE_MS: "50", OUTBOUND_RELAY_INTERVAL_MS: "100" },
    });
    await stack.startWorker();
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it.each([
    ["http://127.0.0.1:9/hook", "127.0.0.1 is a loopback, private, link-local or unspecified address"],
    ["http://localhost:9/hook", "resolves to"],
    ["http://10.1.2.3/hook", "10.1.2.3 is a"],
    ["http://192.168.1.1/hook", "192.168.1.1 is a"],
    ["http://169.254.169.254/latest/meta-data", "169.254.169.254 is a"],
    ["http://[::1]:9/hook", "::1 is a"],
    ["http://[fd00::1]/hook", "fd00::1 is a"],
    ["http://[fe80::1]/hook", "fe80::1 is a"],
    ["http://0.0.0.0/hook", "0.0.0.0 is a"],
    ["http://[::ffff:127.0.0.1]/hook", "is a loopback"],
  ])("POST %s → 422 endpoint-url-refused", async (url, says) => {
    const answer = await stack.call("POST", "/v1/webhook-endpoints", { url, events: ["suppression.created"] });
    expect(answer.status, JSON.stringify(answer.body)).toBe(422);
    expect(answer.contentType).toContain("application/problem+json");
    expect(answer.body.type).toBe("https://mailstate.dev/problems/endpoint-url-refused");
    expect(answer.body.detail).toContain(says);
    expect(answer.body.detail).toContain("OUTBOUND_ALLOW_PRIVATE=true allows it");
  });

  it("a public address is accepted", async () => {
    const answer = await stack.call("POST", "/v1/webhook-endpoints", {
      url: "https://93.184.215.14/hooks",
      events: ["suppression.created"],
    });
    expect(answer.status).toBe(201);
    expect((await stack.call("DELETE", `/v1/webhook-endpoints/${answer.body.id}`)).status).toBe(204);
  });

  it("at send time too: an endpoint that points at loopback by name is never connected to; the refusal is in its delivery log", async () => {
    // As if the name had resolved to a public address at registration (DNS rebinding): written directly.
    const { webhookEndpoints } = await import("@mailstate/db");
    const { row } = await webhookEndpoints.create(stack.db, {
      tenant: null,
      url: receiver.url.replace("127.0.0.1", "localhost"),
      events: ["suppression.created"],
      description: null,
    });
    expect((await stack.call("POST", "/v1/suppressions", { email: `${randomUUID()}@x.test` })).status).toBe(201);
    const entry = await waitUntil(
      "an attempt refused at send time",
      async () => {
        const log = await runMailstate(stack, "webhooks", "deliveries", row.id, "--json");
        const first = log.stdout.trim() ? JSON.parse(log.stdout.trim().split("\n")[0] ?? "") : undefined;
        return first?.attempts > 0 ? first : undefined;
      },
      10_000,
    );
    expect(entry.lastStatusCode).toBeNull();
    expect(entry.lastError).toMatch(
      /^refused: localhost resolves to (127\.0\.0\.1|::1), which is not a public address$/,
    );
    expect(receiver.requests).toEqual([]);
  });
});
