// fast-check throws bodies and headers at POST /webhooks/resend (random bytes, random JSON, valid
// signatures over garbage, huge headers, odd content types and encodings, raw TCP garbage): never a
// 5xx but 503 while Redis is unreachable, and the API process still answers /healthz at the end.
import { request } from "node:http";
import { connect } from "node:net";
import fc from "fast-check";
import { Webhook } from "svix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FaultStack, report, scaled, signedHeaders, startFaultStack, WEBHOOK_SECRET } from "./fault-stack.ts";

const RUNS = scaled(3_000, 400);
const signer = new Webhook(WEBHOOK_SECRET);

let stack: FaultStack;
let baseUrl: string;
let port: number;
let apiExitCode: () => number | null;
beforeAll(async () => {
  stack = await startFaultStack("fuzz");
  const api = await stack.spawnApi();
  baseUrl = api.baseUrl;
  port = Number(new URL(baseUrl).port);
  apiExitCode = () => api.process.child.exitCode ?? (api.process.child.signalCode ? -1 : null);
});
afterAll(async () => {
  await stack?.close();
});

interface Attempt {
  body: Uint8Array;
  headers: Record<string, string>;
}

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
const contentTypes = fc.constantFrom(
  undefined,
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "application/octet-stream",
  "*/*",
  ";;;",
  "application/json; charset=\u0001",
);
const encodings = fc.constantFrom(undefined, undefined, undefined, "gzip", "deflate", "br", "identity", "x-garbage");

const eventLike = fc.record({
  type: fc.oneof(fc.constantFrom("email.sent", "email.delivered", "email.bounced", "contact.created"), printable),
  created_at: fc.oneof(
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
    printable,
  ),
  data: fc.oneof(fc.jsonValue(), fc.record({ email_id: printable, to: fc.array(printable) })),
});

const bodies: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 2_048 }),
  fc.json().map((text) => Buffer.from(text)),
  eventLike.map((event) => Buffer.from(JSON.stringify(event))),
  fc.string({ unit: "binary" }).map((text) => Buffer.from(text, "utf8")),
  fc.constantFrom(Buffer.alloc(0), Buffer.from("null"), Buffer.from("[]"), Buffer.from('{"type":""}')),
  // Over the 256 kB limit, and just under it.
  fc.constantFrom(Buffer.alloc(300_000, 0x61), Buffer.from(`{"type":"x","pad":"${"a".repeat(250_000)}"}`)),
);

/** How the svix headers are made: missing, random, valid over this very body, valid over another. */
const signing = fc.constantFrom("none", "random", "valid", "valid-other-body", "stale", "webhook-names");

const attempts: fc.Arbitrary<Attempt> = fc
  .record({
    body: bodies,
    signing,
    id: fc.oneof(fc.constant("msg_fuzz"), printable, fc.constant("x".repeat(300)), fc.constant("a:b%c")),
    contentType: contentTypes,
    encoding: encodings,
    extra: fc.dictionary(
      printable.filter((name) => /^[a-z0-9-]{1,40}$/i.test(name)),
      printable,
      { maxKeys: 4 },
    ),
    huge: fc.constantFrom(0, 0, 0, 0, 8_000, 15_000, 40_000),
    timestamp: printable,
    signature: printable,
  })
  .map(({ body, signing, id, contentType, encoding, extra, huge, timestamp, signature }) => {
    const headers: Record<string, string> = { ...extra };
    const now = new Date();
    const svixId = `${id}${Math.random().toString(36).slice(2)}`;
    if (signing === "random")
      Object.assign(headers, { "svix-id": svixId, "svix-timestamp": timestamp, "svix-signature": signature });
    if (signing === "valid" || signing === "webhook-names" || signing === "stale") {
      const at = signing === "stale" ? new Date(now.getTime() - 3_600_000) : now;
      const signed = {
        id: svixId,
        timestamp: String(Math.floor(at.getTime() / 1_000)),
        signature: signer.sign(svixId, at, Buffer.from(body)),
      };
      const prefix = signing === "webhook-names" ? "webhook" : "svix";
      Object.assign(headers, {
        [`${prefix}-id`]: signed.id,
        [`${prefix}-timestamp`]: signed.timestamp,
        [`${prefix}-signature`]: signed.signature,
      });
    }
    if (signing === "valid-other-body") Object.assign(headers, signedHeaders(svixId, "{}"));
    if (contentType !== undefined) headers["content-type"] = contentType;
    else delete headers["content-type"];
    if (encoding !== undefined) headers["content-encoding"] = encoding;
    if (huge > 0) headers["x-huge"] = "h".repeat(huge);
    return { body, headers };
  });

/** One request; answers the status, or 0 when the server closed the connection without one. */
function send({ body, headers }: Attempt): Promise<number> {
  return new Promise((resolve) => {
    let req: ReturnType<typeof request>;
    try {
      req = request(
        { host: "127.0.0.1", port, method: "POST", path: "/webhooks/resend", headers, agent: false },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
          res.on("error", () => resolve(res.statusCode ?? 0));
        },
      );
    } catch {
      return resolve(-1); // the client refused the headers itself: nothing reached the server
    }
    req.setTimeout(15_000, () => req.destroy(new Error("timeout")));
    req.on("error", (error) => resolve(error.message === "timeout" ? 599 : 0));
    req.end(body);
  });
}

/** Raw bytes straight onto the socket: the HTTP parser must answer 4xx or close, nothing else. */
function sendRaw(bytes: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.setTimeout(2_000, () => socket.destroy());
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1");
    });
    socket.on("error", () => {});
    socket.on("close", () => resolve(Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.end(Buffer.concat([Buffer.from("POST /webhooks/resend HTTP/1.1\r\n"), bytes]));
  });
}

describe("the webhook route under fuzzing", () => {
  it("never answers a 5xx but 503 (Redis gone), and never dies", async () => {
    const seen = new Map<number, number>();
    const tally = (status: number) => seen.set(status, (seen.get(status) ?? 0) + 1);
    const started = Date.now();

    await fc.assert(
      fc.asyncProperty(attempts, async (attempt) => {
        const status = await send(attempt);
        tally(status);
        return status < 500;
      }),
      { numRuns: RUNS },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4_096 }), async (bytes) => {
        const status = await sendRaw(bytes);
        tally(1000 + status); // kept apart in the figures: 1400 = raw garbage answered 400
        return status < 500;
      }),
      { numRuns: Math.round(RUNS / 4) },
    );

    // Redis unreachable: a verified event answers 503 (Resend retries); everything else as before.
    await stack.redisServer.kill();
    const down = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(attempts, fc.boolean(), async (attempt, valid) => {
        const body = JSON.stringify({ type: "email.sent", created_at: new Date().toISOString(), data: {} });
        const svixId = `msg_down_${Math.random().toString(36).slice(2)}`;
        const status = valid
          ? await send({ body: Buffer.from(body), headers: signedHeaders(svixId, body) })
          : await send(attempt);
        down.set(status, (down.get(status) ?? 0) + 1);
        return valid ? status === 503 : status < 500 || status === 503;
      }),
      { numRuns: Math.round(RUNS / 4) },
    );
    await stack.redisServer.start();

    const health = await fetch(`${baseUrl}/healthz`);
    report("webhook-fuzz", {
      requests: [...seen.values()].reduce((a, b) => a + b, 0) + [...down.values()].reduce((a, b) => a + b, 0),
      statuses_redis_up: JSON.stringify(Object.fromEntries(seen)),
      statuses_redis_down: JSON.stringify(Object.fromEntries(down)),
      healthz: health.status,
      seconds: ((Date.now() - started) / 1_000).toFixed(1),
    });
    expect(health.status).toBe(200);
    expect(apiExitCode()).toBeNull();
  }, 600_000);
});
