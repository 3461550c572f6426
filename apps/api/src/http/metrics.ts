// Prometheus metrics of one app instance: its own registry, so several apps can live in one process.
import { type Db, ops } from "@mailstate/db";
import type { MemoryGuard, Queues } from "@mailstate/queue";
import { sharedReading } from "@mailstate/runtime";
import { Router } from "express";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Every answer the webhook route can give; a closed set, so the label stays low-cardinality. */
const WEBHOOK_OUTCOMES = [
  "queued",
  "headers_invalid",
  "timestamp_out_of_tolerance",
  "signature_invalid",
  "body_invalid",
  "too_large",
  "queue_unavailable",
] as const;
type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

const DEPTH_STATES = ["waiting", "active", "delayed", "failed"] as const;

export interface ApiMetrics {
  registry: Registry;
  webhookOutcome(outcome: WebhookOutcome): void;
  /** Seconds Redis took to take one job. */
  enqueueSeconds(seconds: number): void;
}

export function createMetrics(
  queues: Queues,
  { db, memory, depthTimeoutMs = 1_000 }: { db?: Db; memory?: MemoryGuard; depthTimeoutMs?: number } = {},
): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "mailstate_api_" });

  const webhooks = new Counter({
    name: "mailstate_webhooks_total",
    help: "Resend webhooks received, by outcome",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  // Zero every outcome up front, so rates exist before the first rejection of each kind.
  for (const outcome of WEBHOOK_OUTCOMES) webhooks.inc({ outcome }, 0);

  const enqueue = new Histogram({
    name: "mailstate_webhook_enqueue_seconds",
    help: "Time to add a verified webhook to the inbox queue",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  // Both gauges below are collected concurrently on a scrape; they share one read of Redis.
  const readDepths = sharedReading(
    () =>
      Promise.all(
        [...queues.inboxShards, queues.unmatched].map(async (queue) => ({
          queue: queue.name,
          counts: await queue.getJobCounts(...DEPTH_STATES),
        })),
      ),
    depthTimeoutMs,
    "reading queue depths",
  );

  new Gauge({
    name: "mailstate_queue_up",
    help: "1 when the queue depths could be read from Redis at this scrape, else 0",
    registers: [registry],
    async collect() {
      this.set((await readDepths()) ? 1 : 0);
    },
  });

  new Gauge({
    name: "mailstate_queue_jobs",
    help: "Jobs in each queue by state, read from Redis at scrape time",
    labelNames: ["queue", "state"] as const,
    registers: [registry],
    async collect() {
      // Stale depths would read as healthy; when Redis does not answer, drop them (mailstate_queue_up says why).
      this.reset();
      const depths = await readDepths();
      for (const { queue, counts } of depths ?? []) {
        for (const state of DEPTH_STATES) this.set({ queue, state }, counts[state] ?? 0);
      }
    },
  });

  if (db) recoveryGauges(registry, db, depthTimeoutMs);
  if (memory) redisMemoryGauges(registry, memory);

  return {
    registry,
    webhookOutcome: (outcome) => webhooks.inc({ outcome }),
    enqueueSeconds: (seconds) => enqueue.observe(seconds),
  };
}

/**
 * Redis's memory against its limit, read at scrape time (INFO memory, per master on a cluster): at
 * maxmemory under noeviction every webhook is refused, so the alert warns well before. Absent from a
 * scrape when Redis does not answer in time, or refuses INFO (a managed Redis may).
 */
function redisMemoryGauges(registry: Registry, memory: MemoryGuard): void {
  const gauge = (name: string, help: string, pick: (node: { used: number; max: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["node"] as const,
      registers: [registry],
      async collect() {
        this.reset();
        for (const node of (await memory.read()) ?? []) {
          const value = pick(node);
          if (Number.isFinite(value)) this.set({ node: node.node }, value);
        }
      },
    });
  gauge("mailstate_redis_memory_used_bytes", "Redis's used_memory (INFO memory), per master", (node) => node.used);
  gauge("mailstate_redis_maxmemory_bytes", "Redis's maxmemory (0: no limit), per master", (node) => node.max);
}

/**
 * What needs a person, read from PostgreSQL at scrape time: alert when either is above zero. Both
 * are absent from a scrape when PostgreSQL does not answer in time (stale figures would read as fine).
 */
function recoveryGauges(registry: Registry, db: Db, timeoutMs: number): void {
  type Counts = Awaited<ReturnType<typeof ops.recoveryCounts>> | undefined;
  const readCounts = sharedReading(() => ops.recoveryCounts(db), timeoutMs, "counting dead letters");
  const gauge = (name: string, help: string, pick: (counts: NonNullable<Counts>) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.reset();
        const counts = await readCounts();
        if (counts) this.set(pick(counts));
      },
    });
  gauge(
    "mailstate_dead_letters",
    "Verified webhooks that could not be applied and are not retried yet (mailstate dead-letters list)",
    (counts) => counts.openDeadLetters,
  );
  gauge(
    "mailstate_invalid_events",
    "Logged events whose schema rejected them (mailstate reprocess --status invalid)",
    (counts) => counts.invalidEvents,
  );
}

export function metricsRoutes(metrics: ApiMetrics): Router {
  const router = Router();
  router.get("/metrics", async (_req, res) => {
    const body = await metrics.registry.metrics();
    res.type(metrics.registry.contentType).send(body);
  });
  return router;
}
