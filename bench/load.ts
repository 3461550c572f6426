// Load generation for the benchmarks: signed webhooks (or API requests), fired closed-loop (as fast as N connections
// go) or open-loop at a steady rate, with per-request latency and status counts.
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import type { WorkloadEvent } from "@mailstate/test-support";
import { Webhook } from "svix";

export const BENCH_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const signer = new Webhook(BENCH_SECRET);

/** One POST: its body and headers. */
export interface PostRequest {
  body: Buffer;
  headers: Record<string, string | number>;
  /** Where it is posted; the webhook route unless said. */
  path?: string;
}

export const BENCH_API_KEY = "bench-api-key-0123456789abcdef";

/** JSON bodies for an API route, with the bench's API key (the sync design checks the same key). */
export function apiRequests(path: string, bodies: unknown[], apiKey = BENCH_API_KEY): PostRequest[] {
  return bodies.map((value) => {
    const body = Buffer.from(JSON.stringify(value));
    return {
      body,
      path,
      headers: {
        "content-type": "application/json",
        "content-length": body.length,
        authorization: `Bearer ${apiKey}`,
      },
    };
  });
}

export interface Delivery extends PostRequest {
  svixId: string;
}

/** Signed now: the route refuses timestamps older than five minutes, so sign just before firing. */
export function sign(events: WorkloadEvent[]): Delivery[] {
  const now = new Date();
  return events.map((event) => {
    const body = Buffer.from(JSON.stringify(event.body));
    return {
      svixId: event.svixId,
      body,
      headers: {
        "content-type": "application/json",
        "content-length": body.length,
        "svix-id": event.svixId,
        "svix-timestamp": Math.floor(now.getTime() / 1_000),
        "svix-signature": signer.sign(event.svixId, now, body),
      },
    };
  });
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  /** Indexes of the deliveries not answered 2xx (Resend would retry them). */
  refused: number[];
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** A figure for a report: `digits` decimals, or "n/a" when there is none (NaN, a ratio over 0). */
export const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/**
 * POST every delivery to its own path, or `path` (the webhook route unless told), on `port` with `concurrency`
 * connections. With `rate`, each request starts no earlier than its slot (open loop, so a slow
 * server shows as latency, not as a lower rate).
 */
export async function fire(
  port: number,
  deliveries: PostRequest[],
  { concurrency = 50, rate, path = "/webhooks/resend" }: { concurrency?: number; rate?: number; path?: string } = {},
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const refused: number[] = [];
  const count = (status: string) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
  };
  let next = 0;
  const started = performance.now();
  const one = (delivery: PostRequest, due: number, index: number) =>
    new Promise<void>((resolve) => {
      const req = request(
        { host: "127.0.0.1", port, path: delivery.path ?? path, method: "POST", agent, headers: delivery.headers },
        (res) => {
          res.resume();
          res.on("end", () => {
            latencies.push(performance.now() - due);
            count(String(res.statusCode ?? 0));
            if ((res.statusCode ?? 0) >= 300) refused.push(index);
            resolve();
          });
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
      req.on("error", (error) => {
        latencies.push(performance.now() - due);
        count(error.message === "timeout" ? "timeout" : "error");
        refused.push(index);
        resolve();
      });
      req.end(delivery.body);
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const index = next++;
        const delivery = deliveries[index];
        if (!delivery) return;
        let due = performance.now();
        if (rate) {
          due = started + (index / rate) * 1_000;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        await one(delivery, due, index);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1_000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    requests: deliveries.length,
    seconds,
    rps: deliveries.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? 0,
    statuses,
    refused,
  };
}
