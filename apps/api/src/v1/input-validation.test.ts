// Input PostgreSQL or the body parser cannot take (NUL, lone surrogates, deep metadata, unreadable
// bodies) answers a 400/415 problem naming the field, against the real app, PostgreSQL and Redis.
import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { type Answer, startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateStack, mailstateSystem } from "../../test/testing.ts";
import { MAX_METADATA_BYTES, MAX_METADATA_DEPTH } from "./schemas/requests.ts";

const OPS_PASSWORD = "ops-password-for-tests";

let api: MailstateStack;
beforeAll(async () => {
  api = await startStack("api_input_validation", mailstateSystem, { env: { OPS_PASSWORD } });
});
afterAll(async () => {
  await api?.close();
});

const NUL = "\u0000";
const LONE = "\ud800";
const PROBLEM = "https://mailstate.dev/problems/";

function notification(overrides: Record<string, unknown> = {}) {
  return { to: "ada@example.com", from: "Acme <hello@acme.test>", subject: "Reset your password", ...overrides };
}

/** A value nested `levels` objects deep: { a: { a: … { a: 1 } } } has `levels` levels. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { a: 1 };
  for (let level = 1; level < levels; level++) value = { a: value };
  return value;
}

function expectValidationFailed(answer: Answer, location: string, path: string) {
  expect(answer.status).toBe(400);
  expect(answer.contentType).toContain("application/problem+json");
  expect(answer.body.type).toBe(`${PROBLEM}validation-failed`);
  expect(answer.body.errors).toContainEqual(expect.objectContaining({ location, path }));
}

/** fetch with the API key and exactly these headers and bytes (api.call always sends JSON text). */
async function postRaw(path: string, body: string | Buffer, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(`${api.baseUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${api.apiKey}`, ...headers },
    body: new Uint8Array(Buffer.from(body)),
  });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    headers: response.headers,
    body: JSON.parse(text),
  };
}

describe("POST /v1/notifications: strings PostgreSQL cannot store", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['subject "hi\\u0000"', { subject: `hi${NUL}` }, "subject"],
    ['subject "hi\\ud800" (lone surrogate)', { subject: `hi${LONE}` }, "subject"],
    ['from "\\u0000x@acme.test"', { from: `${NUL}x@acme.test` }, "from"],
    ['to "a\\u0000b@example.com"', { to: `a${NUL}b@example.com` }, "to"],
    ['to ["ada@example.com", "b\\ud800@example.com"]', { to: ["ada@example.com", `b${LONE}@example.com`] }, "to.1"],
    ['tags { kind: "a\\u0000" }', { tags: { kind: `a${NUL}` } }, "tags.kind"],
    ['tags { "k\\u0000": "v" } (a key)', { tags: { [`k${NUL}`]: "v" } }, `tags.k${NUL}`],
    ['tags { kind: "\\ud800" }', { tags: { kind: LONE } }, "tags.kind"],
    ['metadata { user: { name: "a\\u0000" } }', { metadata: { user: { name: `a${NUL}` } } }, "metadata.user.name"],
    ['metadata { list: ["ok", "\\ud800"] }', { metadata: { list: ["ok", LONE] } }, "metadata.list.1"],
    ['metadata { "k\\u0000": 1 } (a key)', { metadata: { [`k${NUL}`]: 1 } }, `metadata.k${NUL}`],
    ['idempotencyKey "\\u0000"', { idempotencyKey: NUL }, "idempotencyKey"],
    ['tenant "t\\u0000"', { tenant: `t${NUL}` }, "tenant"],
    ['category "\\ud800c"', { category: `${LONE}c` }, "category"],
    ['resendEmailId "\\u0000"', { resendEmailId: NUL }, "resendEmailId"],
  ];
  it.each(cases)("input: %s → 400 validation-failed naming the field", async (_label, overrides, path) => {
    const answer = await api.call("POST", "/v1/notifications", notification(overrides));
    expectValidationFailed(answer, "body", path);
  });

  it('input: batch whose second item has subject "\\u0000" → 400 naming notifications.1.subject', async () => {
    const answer = await api.call("POST", "/v1/notifications/batch", {
      notifications: [notification(), notification({ subject: NUL })],
    });
    expectValidationFailed(answer, "body", "notifications.1.subject");
  });

  it("input: a surrogate pair (emoji) in subject and metadata → 201, stored as sent", async () => {
    const answer = await api.call(
      "POST",
      "/v1/notifications",
      notification({ subject: "hi 😀", metadata: { e: "😀" } }),
    );
    expect(answer.status).toBe(201);
    expect(answer.body.notification).toMatchObject({ subject: "hi 😀", metadata: { e: "😀" } });
  });
});

describe("POST /v1/notifications: metadata depth and size", () => {
  it(`input: metadata nested 125 levels → 400 validation-failed naming metadata`, async () => {
    const answer = await api.call("POST", "/v1/notifications", notification({ metadata: nested(125) }));
    expectValidationFailed(answer, "body", "metadata");
    expect(answer.body.detail).toContain(`deeper than ${MAX_METADATA_DEPTH} levels`);
  });

  it(`input: metadata nested ${MAX_METADATA_DEPTH + 1} levels (arrays) → 400 naming metadata`, async () => {
    let value: unknown = [1];
    for (let level = 2; level <= MAX_METADATA_DEPTH; level++) value = [value];
    const answer = await api.call("POST", "/v1/notifications", notification({ metadata: { a: value } }));
    expectValidationFailed(answer, "body", "metadata");
  });

  it(`input: metadata nested exactly ${MAX_METADATA_DEPTH} levels → 201, stored as sent`, async () => {
    const metadata = nested(MAX_METADATA_DEPTH);
    const answer = await api.call("POST", "/v1/notifications", notification({ metadata }));
    expect(answer.status).toBe(201);
    expect(answer.body.notification.metadata).toEqual(metadata);
  });

  it(`input: metadata of ${MAX_METADATA_BYTES + 100} bytes → 400 naming metadata`, async () => {
    const answer = await api.call(
      "POST",
      "/v1/notifications",
      notification({ metadata: { blob: "x".repeat(MAX_METADATA_BYTES + 100) } }),
    );
    expectValidationFailed(answer, "body", "metadata");
  });
});

describe("/v1/suppressions and the notification list: addresses and filters with NUL", () => {
  it("input: GET /v1/suppressions/a%00b@example.com → 400 validation-failed naming email (params)", async () => {
    expectValidationFailed(await api.call("GET", "/v1/suppressions/a%00b@example.com"), "params", "email");
  });

  it("input: DELETE /v1/suppressions/a%00b@example.com → 400 validation-failed naming email (params)", async () => {
    expectValidationFailed(await api.call("DELETE", "/v1/suppressions/a%00b@example.com"), "params", "email");
  });

  it("input: GET /v1/suppressions/%ED%A0%80@example.com (a surrogate, not UTF-8) → 400 malformed-url", async () => {
    const answer = await api.call("GET", "/v1/suppressions/%ED%A0%80@example.com");
    expect(answer.status).toBe(400);
    expect(answer.contentType).toContain("application/problem+json");
    expect(answer.body.type).toBe(`${PROBLEM}malformed-url`);
  });

  it('input: POST /v1/suppressions { email: "x\\ud800@example.com" } → 400 naming email', async () => {
    const answer = await api.call("POST", "/v1/suppressions", { email: `x${LONE}@example.com` });
    expectValidationFailed(answer, "body", "email");
  });

  it('input: POST /v1/suppressions { note: "\\u0000" } → 400 naming note', async () => {
    const answer = await api.call("POST", "/v1/suppressions", { email: "note@example.com", note: NUL });
    expectValidationFailed(answer, "body", "note");
  });

  it('input: POST /v1/suppressions/check { emails: ["ok@example.com", "a\\u0000@example.com"] } → 400 naming emails.1', async () => {
    const answer = await api.call("POST", "/v1/suppressions/check", {
      emails: ["ok@example.com", `a${NUL}@example.com`],
    });
    expectValidationFailed(answer, "body", "emails.1");
  });

  it.each([
    ["email", "a%00b@example.com"],
    ["resendEmailId", "%00"],
    ["tenant", "%00"],
  ])("input: GET /v1/notifications?%s=%s → 400 validation-failed naming it (query)", async (name, value) => {
    expectValidationFailed(await api.call("GET", `/v1/notifications?${name}=${value}`), "query", name);
  });

  it('input: PATCH /v1/notifications/:id { sendError: { name: "x\\u0000" } } → 400 naming sendError.name', async () => {
    const created = await api.call("POST", "/v1/notifications", notification());
    const answer = await api.call("PATCH", `/v1/notifications/${created.body.notification.id}`, {
      sendError: { name: `x${NUL}`, message: "refused" },
    });
    expectValidationFailed(answer, "body", "sendError.name");
  });
});

describe("bodies the parser refuses", () => {
  it("input: Content-Type: application/json; charset=latin1 → 415 unsupported-media-type", async () => {
    const answer = await postRaw("/v1/notifications", JSON.stringify(notification()), {
      "content-type": "application/json; charset=latin1",
    });
    expect(answer.status).toBe(415);
    expect(answer.contentType).toContain("application/problem+json");
    expect(answer.body).toMatchObject({ status: 415, type: `${PROBLEM}unsupported-media-type` });
  });

  it("input: Content-Encoding: compress (unknown) → 415 unsupported-media-type", async () => {
    const answer = await postRaw("/v1/notifications", JSON.stringify(notification()), {
      "content-type": "application/json",
      "content-encoding": "compress",
    });
    expect(answer.status).toBe(415);
    expect(answer.body.type).toBe(`${PROBLEM}unsupported-media-type`);
  });

  it("input: Content-Encoding: gzip on plain JSON (not gzip) → 400 unreadable-body", async () => {
    const answer = await postRaw("/v1/notifications", JSON.stringify(notification()), {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    expect(answer.status).toBe(400);
    expect(answer.contentType).toContain("application/problem+json");
    expect(answer.body).toMatchObject({ status: 400, type: `${PROBLEM}unreadable-body` });
  });

  it("input: Content-Encoding: gzip on a real gzip body → 201 (compressed bodies still work)", async () => {
    const idempotencyKey = `gzip-${randomUUID()}`;
    const answer = await postRaw("/v1/notifications", gzipSync(JSON.stringify(notification({ idempotencyKey }))), {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    expect(answer.status).toBe(201);
    expect(answer.body.notification.idempotencyKey).toBe(idempotencyKey);
  });
});

describe("/support search box", () => {
  const basicAuth = `Basic ${Buffer.from(`ops:${OPS_PASSWORD}`).toString("base64")}`;
  const get = (path: string) => fetch(`${api.baseUrl}${path}`, { headers: { authorization: basicAuth } });

  it.each(["%00abc", "a%00b@example.com"])(
    "input: /support?q=%s → 400 HTML page “That search cannot be read”",
    async (q) => {
      const response = await get(`/support?q=${q}`);
      expect(response.status).toBe(400);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(await response.text()).toContain("That search cannot be read");
    },
  );

  it("input: /support/notifications/%ED%A0%80 (undecodable path) → 400 HTML page, not 500", async () => {
    const response = await get("/support/notifications/%ED%A0%80");
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toContain("text/html");
  });

  it("input: /support?q=ada@example.com (control) → 200", async () => {
    expect((await get("/support?q=ada@example.com")).status).toBe(200);
  });
});
