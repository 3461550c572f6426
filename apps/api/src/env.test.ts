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

  it("input: API_KEYS with a short key → error naming API_KEYS", () => {
    expect(messageOf(() => loadApiEnv({ RESEND_WEBHOOK_SECRET: secret, API_KEYS: "short" }))).toMatch(
      /API_KEYS: each API key needs 16 characters/,
    );
  });
});
