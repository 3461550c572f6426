// The worker's Prometheus metrics, in a registry of its own (one per worker, so tests may run several).
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** What reconciling answers for each inbox event; a closed set, so the label stays low-cardinality. */
const EVENT_OUTCOMES = ["applied", "unmatched", "ignored", "invalid", "duplicate", "erased"] as const;

export interface WorkerMetrics {
  registry: Registry;
  /** Inbox events per reconciled batch (one transaction each). */
  batchEvents: Histogram;
  /** Inbox events reconciled, by what reconciling answered. */
  events: Counter<"outcome">;
  /** Seconds from the webhook's arrival at the API to its batch's commit. */
  eventLagSeconds: Histogram;
  /** Calls to Resend's API, by call and outcome (ok, not_found, retry, error). */
  resendCalls: Counter<"call" | "outcome">;
  /** Notifications the sweeper asked Resend about. */
  sweeperPolls: Counter;
  /** Notifications the sweeper healed: an event appended from what Resend's API said. */
  sweeperHeals: Counter<"event">;
  /** Polls that failed (after their retries, or for good). */
  sweeperErrors: Counter;
  /** Failed webhook deliveries the sweeper asked Resend to replay. */
  webhookReplays: Counter;
  /** Attempts at outbound webhooks, by outcome (delivered, failed). */
  webhookDeliveries: Counter<"outcome">;
  /** Outbound webhook endpoints disabled after failing for OUTBOUND_DISABLE_AFTER_MS. */
  webhookEndpointsDisabled: Counter;
}

/** `processMetrics`: the process's own (CPU, memory, event loop), for the registry a worker process serves. */
export function createWorkerMetrics({ processMetrics = false }: { processMetrics?: boolean } = {}): WorkerMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (processMetrics) collectDefaultMetrics({ register: registry, prefix: "mailstate_worker_" });
  const events = new Counter({
    name: "mailstate_worker_events_total",
    help: "Inbox events reconciled, by outcome (applied, unmatched, ignored, invalid, duplicate, erased)",
    labelNames: ["outcome"] as const,
    registers,
  });
  // Zero every outcome up front, so rates exist before the first event of each kind.
  for (const outcome of EVENT_OUTCOMES) events.inc({ outcome }, 0);
  return {
    registry,
    events,
    eventLagSeconds: new Histogram({
      name: "mailstate_worker_event_lag_seconds",
      help: "Seconds from a webhook's arrival at the API to the commit of the batch that applied it",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    batchEvents: new Histogram({
      name: "mailstate_worker_batch_events",
      help: "Inbox events reconciled per batch, one PostgreSQL transaction each",
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    resendCalls: new Counter({
      name: "mailstate_resend_api_calls_total",
      help: "Calls to Resend's API, by call and outcome",
      labelNames: ["call", "outcome"] as const,
      registers,
    }),
    sweeperPolls: new Counter({
      name: "mailstate_sweeper_polls_total",
      help: "Notifications the sweeper asked Resend about (emails.get)",
      registers,
    }),
    sweeperHeals: new Counter({
      name: "mailstate_sweeper_heals_total",
      help: "Notifications healed from Resend's API: an event appended to the log, by event type",
      labelNames: ["event"] as const,
      registers,
    }),
    sweeperErrors: new Counter({
      name: "mailstate_sweeper_errors_total",
      help: "Sweeper polls that failed for good",
      registers,
    }),
    webhookReplays: new Counter({
      name: "mailstate_webhook_replays_total",
      help: "Failed webhook deliveries the sweeper asked Resend to replay",
      registers,
    }),
    webhookDeliveries: new Counter({
      name: "mailstate_outbound_webhook_attempts_total",
      help: "Attempts at outbound webhooks to the applications' endpoints, by outcome",
      labelNames: ["outcome"] as const,
      registers,
    }),
    webhookEndpointsDisabled: new Counter({
      name: "mailstate_outbound_webhook_endpoints_disabled_total",
      help: "Outbound webhook endpoints disabled after failing for OUTBOUND_DISABLE_AFTER_MS",
      registers,
    }),
  };
}
