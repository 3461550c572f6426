import { EnvError } from "@mailstate/runtime";
import { describe, expect, it } from "vitest";
import { loadApiEnv } from "./env.ts";

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
  throw new Error("expected the env to be rejected");
}

describe("api env", () => {
  it("applies the local defaults when only the webhook secret is given", () => {
    const env = loadApiEnv({ RESEND_WEBHOOK_SECRET: secret });
    expect(env).toMatchObject({
      PORT: 3000,
      DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/mailstate",
      REDIS_URL: "redis://127.0.0.1:6379",
      RESEND_WEBHOOK_SECRET: [secret],
      QUEUE_PREFIX: "{mailstate}",
      API_KEYS: [],
    });
  });

  it("takes several secrets separated by spaces, for rotation", () => {
    const other = "whsec_b2xkLXNlY3JldC1mb3Itcm90YXRpb24=";
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: `${secret} ${other}` }).RESEND_WEBHOOK_SECRET).toEqual([secret, other]);
  });

  it("input: RESEND_WEBHOOK_SECRET missing → error naming RESEND_WEBHOOK_SECRET", () => {
    expect(messageOf(() => loadApiEnv({}))).toMatch(/RESEND_WEBHOOK_SECRET: is required/);
  });

  it("input: RESEND_WEBHOOK_SECRET=not-a-secret → error naming RESEND_WEBHOOK_SECRET and the expected form", () => {
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: "not-a-secret" }))).toMatch(
      /RESEND_WEBHOOK_SECRET: each secret must look like whsec_/,
    );
  });

  it("input: PORT=abc and REDIS_URL=localhost → both variables named", () => {
    const message = messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, PORT: "abc", REDIS_URL: "localhost" }));
    expect(message).toMatch(/PORT:/);
    expect(message).toMatch(/REDIS_URL: must be a redis:\/\//);
  });

  it("input: RESEND_WEBHOOK_SECRET=whsec_…LaLa=w (matches the form, not base64) → error naming it, secret not quoted", () => {
    const bad = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa=w";
    const message = messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: bad }));
    expect(message).toMatch(/RESEND_WEBHOOK_SECRET: each secret's part after whsec_ must be valid base64/);
    expect(message).not.toContain(bad);
  });

  it("input: RESEND_WEBHOOK_SECRET with a good and a bad secret (rotation) → error naming it", () => {
    expect(
      messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: `${secret} whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa=w` })),
    ).toMatch(/RESEND_WEBHOOK_SECRET: each secret's part after whsec_ must be valid base64/);
  });

  it("input: OPS_USERNAME=ops:admin → error naming OPS_USERNAME and the ':'", () => {
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, OPS_USERNAME: "ops:admin" }))).toMatch(
      /OPS_USERNAME: must not contain ':'/,
    );
  });

  it.each(["0", "0kb", "1023b", "1023"])("input: WEBHOOK_BODY_LIMIT=%s → error naming it (at least 1kb)", (limit) => {
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, WEBHOOK_BODY_LIMIT: limit }))).toMatch(
      /WEBHOOK_BODY_LIMIT: must be at least 1kb/,
    );
  });

  it("input: WEBHOOK_BATCH_WAIT_MS=101, -1 or soon → error naming it; unset → 50; 0 → 0", () => {
    for (const value of ["101", "-1", "soon"]) {
      expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, WEBHOOK_BATCH_WAIT_MS: value }))).toMatch(
        /WEBHOOK_BATCH_WAIT_MS: must be a whole number from 0 to 100/,
      );
    }
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret }).WEBHOOK_BATCH_WAIT_MS).toBe(50);
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, WEBHOOK_BATCH_WAIT_MS: "0" }).WEBHOOK_BATCH_WAIT_MS).toBe(0);
  });

  it("input: nothing about limits → tenant keys 1,000/s with a reserve of 10,000, admin keys unlimited (0); API_RATE_LIMIT_ADMIN_RPS=-1 → error naming it", () => {
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret })).toMatchObject({
      API_RATE_LIMIT_RPS: 1_000,
      API_RATE_LIMIT_BURST: 10_000,
      API_RATE_LIMIT_ADMIN_RPS: 0,
    });
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, API_RATE_LIMIT_ADMIN_RPS: "-1" }))).toMatch(
      /API_RATE_LIMIT_ADMIN_RPS: must be a whole number from 0 to 1000000/,
    );
  });

  it("input: DATABASE_TIMEOUT_MS=100 or 60001 → error naming it (500 to 60000); unset → 5000. OPS_LOGIN_MAX_FAILURES_PER_IP=0 → error naming it; unset → 100", () => {
    for (const value of ["100", "60001"]) {
      expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, DATABASE_TIMEOUT_MS: value }))).toMatch(
        /DATABASE_TIMEOUT_MS: must be a whole number from 500 to 60000/,
      );
    }
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, OPS_LOGIN_MAX_FAILURES_PER_IP: "0" }))).toMatch(
      /OPS_LOGIN_MAX_FAILURES_PER_IP: must be a whole number from 1 to 100000/,
    );
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret })).toMatchObject({
      DATABASE_TIMEOUT_MS: 5_000,
      OPS_LOGIN_MAX_FAILURES_PER_IP: 100,
    });
  });

  it("input: HTTP_HEADERS_TIMEOUT_MS=999 → error naming it; unset → headers 10 s, request 30 s, keep-alive 5 s", () => {
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, HTTP_HEADERS_TIMEOUT_MS: "999" }))).toMatch(
      /HTTP_HEADERS_TIMEOUT_MS: must be a whole number from 1000 to 300000/,
    );
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret })).toMatchObject({
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 5_000,
    });
  });

  it("input: TRACE_URL_TEMPLATE without {traceId}, not a URL, or ftp:// → error naming it; https://jaeger.example/trace/{traceId} → kept as written", () => {
    for (const [value, message] of [
      ["https://jaeger.example/trace/", /TRACE_URL_TEMPLATE: must contain \{traceId\}/],
      ["jaeger/{traceId}", /TRACE_URL_TEMPLATE: must be an http\(s\) URL with \{traceId\} in it/],
      ["ftp://jaeger.example/{traceId}", /TRACE_URL_TEMPLATE: must be an http\(s\) URL with \{traceId\} in it/],
    ] as const) {
      expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, TRACE_URL_TEMPLATE: value }))).toMatch(
        message,
      );
    }
    const template = "https://jaeger.example/trace/{traceId}";
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, TRACE_URL_TEMPLATE: template }).TRACE_URL_TEMPLATE).toBe(
      template,
    );
  });

  it("input: WEBHOOK_REDIS_MEMORY_MAX_PERCENT=49 or 101 → error naming it (50 to 100); unset → 90", () => {
    for (const value of ["49", "101"]) {
      expect(
        messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, WEBHOOK_REDIS_MEMORY_MAX_PERCENT: value })),
      ).toMatch(/WEBHOOK_REDIS_MEMORY_MAX_PERCENT: must be a whole number from 50 to 100/);
    }
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret }).WEBHOOK_REDIS_MEMORY_MAX_PERCENT).toBe(90);
  });

  it("input: WEBHOOK_BATCH_SIZE=0, 65 or many → error naming it (1 to 64, an inbox job's most); unset → 32; 1 → 1", () => {
    for (const value of ["0", "65", "many"]) {
      expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, WEBHOOK_BATCH_SIZE: value }))).toMatch(
        /WEBHOOK_BATCH_SIZE: must be a whole number from 1 to 64/,
      );
    }
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret }).WEBHOOK_BATCH_SIZE).toBe(32);
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, WEBHOOK_BATCH_SIZE: "1" }).WEBHOOK_BATCH_SIZE).toBe(1);
  });

  it("input: WEBHOOK_BODY_LIMIT=ten → error naming it and the expected form", () => {
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, WEBHOOK_BODY_LIMIT: "ten" }))).toMatch(
      /WEBHOOK_BODY_LIMIT: must be a size like 256kb$/m,
    );
  });

  it.each(["1kb", "1024", "512KB", "1mb"])("input: WEBHOOK_BODY_LIMIT=%s → accepted as given", (limit) => {
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, WEBHOOK_BODY_LIMIT: limit }).WEBHOOK_BODY_LIMIT).toBe(limit);
  });

  it.each(["0x50", "1e3", "80.0", "0", "65536"])("input: PORT=%s → error naming PORT", (value) => {
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, PORT: value }))).toMatch(/PORT: must be a port/);
  });

  it("input: PORT=8080 → 8080", () => {
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, PORT: "8080" }).PORT).toBe(8080);
  });

  it("input: API_KEYS with a short key → error naming API_KEYS", () => {
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, API_KEYS: "short" }))).toMatch(
      /API_KEYS: each API key needs 16 characters/,
    );
  });

  it("input: none of the new variables → no trusted proxy, URLs up to 8192 characters, 10 failed sign-ins per 900 s", () => {
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret })).toMatchObject({
      TRUST_PROXY: false,
      MAX_URL_LENGTH: 8_192,
      OPS_LOGIN_MAX_FAILURES: 10,
      OPS_LOGIN_WINDOW_SECONDS: 900,
    });
  });

  it.each([
    ["1", 1],
    ["0", 0],
    ["false", false],
    ["loopback", ["loopback"]],
    ["10.0.0.0/8, 127.0.0.1,::1", ["10.0.0.0/8", "127.0.0.1", "::1"]],
    ["LoopBack,uniquelocal", ["loopback", "uniquelocal"]],
  ])("input: TRUST_PROXY=%s → %j", (value, expected) => {
    expect(loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, TRUST_PROXY: value }).TRUST_PROXY).toEqual(expected);
  });

  it.each(["10.0.0.300", "my-proxy", "10.0.0.0/99", ",", "1.5"])(
    "input: TRUST_PROXY=%s → error naming TRUST_PROXY and the accepted forms",
    (value) => {
      expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, TRUST_PROXY: value }))).toMatch(
        /TRUST_PROXY: must be a hop count \(1\), or addresses\/CIDRs/,
      );
    },
  );

  it("input: TRUST_PROXY=true → error naming TRUST_PROXY: it would let any client choose its address", () => {
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, TRUST_PROXY: "true" }))).toMatch(
      /TRUST_PROXY: true would trust any client's X-Forwarded-For/,
    );
  });

  it("input: MAX_URL_LENGTH=100, OPS_LOGIN_MAX_FAILURES=0, OPS_LOGIN_WINDOW_SECONDS=1e3 → an error naming each", () => {
    const message = messageOf(() =>
      loadApiEnv({
        RESEND_WEBHOOK_SECRET: secret,
        MAX_URL_LENGTH: "100",
        OPS_LOGIN_MAX_FAILURES: "0",
        OPS_LOGIN_WINDOW_SECONDS: "1e3",
      }),
    );
    expect(message).toMatch(/MAX_URL_LENGTH: must be a whole number from 256 to 65536/);
    expect(message).toMatch(/OPS_LOGIN_MAX_FAILURES: must be a whole number from 1 to 1000/);
    expect(message).toMatch(/OPS_LOGIN_WINDOW_SECONDS: must be a whole number from 1 to 86400/);
  });

  it("input: RESEND_SUPPRESSION_SYNC=sideways → error naming it; both without RESEND_API_KEY → error saying it needs one", () => {
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, RESEND_SUPPRESSION_SYNC: "sideways" }))).toMatch(
      /RESEND_SUPPRESSION_SYNC: must be inbound, both or off/,
    );
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, RESEND_SUPPRESSION_SYNC: "both" }))).toMatch(
      /RESEND_SUPPRESSION_SYNC: both \(removing from Resend's list\) needs RESEND_API_KEY/,
    );
    expect(
      loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, RESEND_SUPPRESSION_SYNC: "both", RESEND_API_KEY: "re_x" })
        .RESEND_SUPPRESSION_SYNC,
    ).toBe("both");
  });
});
