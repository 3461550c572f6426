// Slow clients cannot pile connections up (issue 28): the real API server with short timeouts
// (HTTP_HEADERS_TIMEOUT_MS 1 s, HTTP_REQUEST_TIMEOUT_MS 2 s, HTTP_KEEP_ALIVE_TIMEOUT_MS 1 s), real
// Redis and PostgreSQL. Raw sockets trickle headers, trickle a body, or sit idle after a request;
// each is closed near its bound while a signed webhook still answers 200.
import { connect, type Socket } from "node:net";
import { type MailstateHarness, mailstateSystem } from "@mailstate/api/testing";
import { createHarness, eventFor } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const TIMEOUTS = {
  HTTP_HEADERS_TIMEOUT_MS: "1000",
  HTTP_REQUEST_TIMEOUT_MS: "2000",
  HTTP_KEEP_ALIVE_TIMEOUT_MS: "1000",
};

let h: MailstateHarness;
let api: Awaited<ReturnType<MailstateHarness["startApi"]>>;

beforeAll(async () => {
  h = await createHarness("api_slow_clients", mailstateSystem);
  api = await h.startApi(TIMEOUTS);
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

/** A raw connection to the API; answers what the server sent and how long until it closed the socket. */
function open(): { socket: Socket; closed: Promise<{ ms: number; received: string }> } {
  const { port } = new URL(api.baseUrl);
  const socket = connect(Number(port), "127.0.0.1");
  const started = performance.now();
  let received = "";
  socket.on("data", (chunk) => {
    received += chunk.toString();
  });
  socket.on("error", () => {});
  const closed = new Promise<{ ms: number; received: string }>((resolve) =>
    socket.on("close", () => resolve({ ms: performance.now() - started, received })),
  );
  return { socket, closed };
}

/** Writes `text` one byte every `everyMs` while the socket is open. */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let index = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || index >= text.length) return clearInterval(timer);
    socket.write(text[index] ?? "");
    index += 1;
  }, everyMs);
  socket.on("close", () => clearInterval(timer));
}

describe("slow clients", () => {
  it("input: 50 connections trickling request headers one byte per 100 ms → each closed within 1 s + 2.5 s (HTTP_HEADERS_TIMEOUT_MS, checked every second); a signed webhook meanwhile → 200", async () => {
    const slow = Array.from({ length: 50 }, () => open());
    for (const { socket } of slow)
      trickle(socket, `POST /webhooks/resend HTTP/1.1\r\nHost: mailstate\r\nX-Slow: ${"a".repeat(200)}`, 100);
    expect(await api.postWebhook(eventFor("email.delivered", "re_slow_clients", 1))).toMatch(/^msg_/);
    const ends = await Promise.all(slow.map(({ closed }) => closed));
    const slowest = Math.max(...ends.map((end) => end.ms));
    expect(slowest).toBeLessThan(3_500);
    expect(Math.min(...ends.map((end) => end.ms))).toBeGreaterThanOrEqual(900);
    // Node answers 408 before it closes a connection whose request timed out.
    for (const end of ends) expect(end.received).toMatch(/^HTTP\/1\.1 408/);
  });

  it("input: POST /webhooks/resend with its headers complete, then a 1 KB body one byte per 100 ms → 408 and closed within 2 s + 2.5 s (HTTP_REQUEST_TIMEOUT_MS, checked every second)", async () => {
    const { socket, closed } = open();
    socket.write(
      "POST /webhooks/resend HTTP/1.1\r\nHost: mailstate\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n",
    );
    trickle(socket, "x".repeat(1_024), 100);
    const end = await closed;
    expect(end.ms).toBeGreaterThanOrEqual(1_900);
    expect(end.ms).toBeLessThan(4_500);
    expect(end.received).toMatch(/^HTTP\/1\.1 408/);
  });

  it("input: GET /healthz on a kept-alive connection, then nothing → 200, and the idle connection closed after 1 s (HTTP_KEEP_ALIVE_TIMEOUT_MS; Node adds up to 1 s of grace)", async () => {
    const { socket, closed } = open();
    socket.write("GET /healthz HTTP/1.1\r\nHost: mailstate\r\nConnection: keep-alive\r\n\r\n");
    const end = await closed;
    expect(end.received).toMatch(/^HTTP\/1\.1 200/);
    expect(end.ms).toBeLessThan(3_500);
    expect(end.ms).toBeGreaterThanOrEqual(900);
  });
});
