// The SDK without a mailstate server: the no-op client, and mailstate unreachable or silent.
// Against the real API: test/e2e-sdk-send.test.ts and test/e2e-record-timeline.test.ts.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { Resend } from "resend";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createMailstate, MailstateError } from "./index.ts";

let standin: ResendStandin;
let resend: Resend;
beforeAll(async () => {
  standin = await createResendStandin();
  resend = new Resend("re_test_key", { baseUrl: standin.url });
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => standin.reset());

const email = (to = "ada@example.com") => ({
  from: "Acme <hello@acme.test>",
  to,
  subject: "Welcome",
  html: "<p>Hi</p>",
});

/** Counts the calls the SDK makes through it, and makes them for real. */
function countingFetch() {
  const calls: string[] = [];
  const wrapped: typeof fetch = (input, init) => {
    calls.push(String(input));
    return fetch(input, init);
  };
  return { calls, fetch: wrapped };
}

describe("the no-op client (no baseUrl or no apiKey)", () => {
  it("apiKey but no baseUrl → send still goes to Resend, record resolves `disabled`, zero calls to mailstate", async () => {
    const counter = countingFetch();
    const mailstate = createMailstate({ baseUrl: undefined, apiKey: "msk_test_key", fetch: counter.fetch });
    expect(mailstate.enabled).toBe(false);
    const result = await mailstate.send(resend, email());
    expect(result).toMatchObject({ status: "sent", notificationId: null, warnings: [] });
    expect(standin.sent.map((sent) => sent.id)).toEqual([result.status === "sent" ? result.resendEmailId : ""]);
    await expect(mailstate.record({ to: "a@b.test", from: "x@acme.test", subject: "s" })).resolves.toEqual({
      status: "disabled",
      notification: null,
    });
    await expect(mailstate.attach("id", "re_1")).resolves.toMatchObject({ status: "disabled" });
    await expect(mailstate.get("id")).resolves.toBeNull();
    await expect(mailstate.isSuppressed("a@b.test")).resolves.toBe(false);
    await expect(mailstate.checkSuppressions(["a@b.test", "A@b.test"])).resolves.toHaveLength(2);
    expect(counter.calls).toEqual([]);
  });

  it("no options at all → sendBatch of 250 makes 3 batch calls (100, 100, 50) and 250 `sent` results", async () => {
    const mailstate = createMailstate();
    const results = await mailstate.sendBatch(
      resend,
      Array.from({ length: 250 }, (_, i) => email(`user${i}@example.com`)),
    );
    expect(standin.batchCalls.map((call) => call.size)).toEqual([100, 100, 50]);
    expect(results.map((result) => result.status)).toEqual(Array(250).fill("sent"));
    expect(results[249]).toMatchObject({ resendEmailId: standin.batchCalls[2]?.ids[49] });
  });
});

describe("mailstate unreachable", () => {
  const unreachable = () => createMailstate({ baseUrl: "http://127.0.0.1:1", apiKey: "msk_test_key" });

  it("record → rejects with MailstateError code network_error, status null", async () => {
    const error = await unreachable()
      .record({ to: "a@b.test", from: "x@acme.test", subject: "s" })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MailstateError);
    expect(error).toMatchObject({ code: "network_error", status: null });
  });

  it("send (default) → sent through Resend anyway, unrecorded, with the network_error as warnings", async () => {
    const result = await unreachable().send(resend, email());
    expect(result.status).toBe("sent");
    if (result.status !== "sent") return;
    expect(result.notificationId).toBeNull();
    expect(result.warnings.map((warning) => warning.code)).toEqual(["network_error", "network_error"]);
    expect(standin.sent).toHaveLength(1);
  });

  it("send with strict: true → failed from mailstate, nothing sent to Resend", async () => {
    const result = await unreachable().send(resend, email(), { strict: true });
    expect(result).toMatchObject({ status: "failed", source: "mailstate", error: { code: "network_error" } });
    expect(standin.sent).toHaveLength(0);
  });
});

describe("mailstate silent", () => {
  let silent: Server;
  let url: string;
  beforeAll(async () => {
    silent = createServer(() => {}); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it("timeoutMs 200 → get rejects with code timeout after about 200 ms", async () => {
    const mailstate = createMailstate({ baseUrl: url, apiKey: "msk_test_key", timeoutMs: 200 });
    const started = Date.now();
    const error = await mailstate.get("00000000-0000-4000-8000-000000000000").catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: "MailstateError", code: "timeout", status: null });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("a Resend error", () => {
  it("an email Resend refuses (no subject) through the no-op client → failed from resend, carrying Resend's error", async () => {
    const result = await createMailstate().send(resend, { from: "a@acme.test", to: "b@acme.test", html: "x" } as never);
    expect(result).toMatchObject({
      status: "failed",
      source: "resend",
      error: { statusCode: 422, name: "missing_required_field" },
    });
  });
});
