// The request log against the real app: one line per answered /v1 request, addresses redacted,
// never a header; nothing at all when info is off.
import { createHarness } from "@mailstate/test-support";
import { pinoHttp } from "pino-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateHarness, mailstateSystem } from "../../test/testing.ts";

let harness: MailstateHarness;
beforeAll(async () => {
  harness = await createHarness("request_log", mailstateSystem);
});
afterAll(async () => {
  await harness?.close();
});

/**
 * A pino logger at `level` writing into memory: pino-http's, as the webhook tests make theirs, less
 * the serializers pino-http adds for req and res (the app's logger has none).
 */
function memoryLogger(level: string) {
  const lines: string[] = [];
  const { logger } = pinoHttp({ level }, { write: (line: string) => lines.push(line) });
  const plain = (value: unknown) => value;
  return { logger: logger.child({}, { serializers: { req: plain, res: plain } }), lines };
}

describe("request log", () => {
  it("input: GET /v1/suppressions/ada%40example.com with the API key, logger at info → one line: method, path with [address], status 404, no header, no address", async () => {
    const { logger, lines } = memoryLogger("info");
    const api = await harness.startApi({}, { logger });
    const answer = await api.call("GET", "/v1/suppressions/ada%40example.com");
    expect(answer.status).toBe(404);
    await api.close();
    const logged = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === "request completed");
    expect(logged).toEqual([
      expect.objectContaining({
        level: 30,
        req: { id: 1, method: "GET", url: "/v1/suppressions/[address]" },
        res: { statusCode: 404 },
        responseTime: expect.any(Number),
      }),
    ]);
    const text = lines.join("\n");
    expect(text).not.toContain("example.com");
    expect(text).not.toContain(api.apiKey);
  });

  it("input: a record (POST /v1/notifications) with the logger at warn → 201, and no line", async () => {
    const { logger, lines } = memoryLogger("warn");
    const api = await harness.startApi({}, { logger });
    const answer = await api.call("POST", "/v1/notifications", { to: "a@b.test", from: "x@acme.test", subject: "s" });
    expect(answer.status).toBe(201);
    await api.close();
    expect(lines).toEqual([]);
  });
});
