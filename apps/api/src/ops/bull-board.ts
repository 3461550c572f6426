// Bull Board over the inbox, unmatched, maintenance and webhooks queues, on the API's own Queue objects (so the same QUEUE_PREFIX), with
// what each queue is for on its page and the writes limited to the allow-list of bull-board-policy.
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import { describeInboxBatch, describeInboxEvent, inboxBatchEvents, type Queues } from "@mailstate/queue";
import type { Queue } from "bullmq";
import { Router } from "express";
import { bullBoardHooks, bullBoardWriteGuard } from "./bull-board-policy.ts";
import { SUPPORT_PATH } from "./support-layout.ts";

const QUEUE_DESCRIPTIONS = {
  inbox:
    "Verified Resend webhooks, one job per batch: the webhooks the API received within a few " +
    "milliseconds of each other (WEBHOOK_BATCH_WAIT_MS, at most WEBHOOK_BATCH_SIZE) that hash to this queue. Each job " +
    "lists its events (type · email id · svix-id) before their bodies. Read-only here: only signed " +
    "webhooks enter it. A failed job holds only the events its last attempt did not apply. Retry runs a " +
    "failed job again (e.g. after a PostgreSQL outage outlasted its retries); applying an event twice changes nothing.",
  unmatched:
    "One job per Resend email id that no notification carries yet (its data: the first event's type, " +
    "recipient, subject and times, and its support page), retried with backoff for about 34 hours. " +
    "Promote tries one now instead of at its next retry; Retry runs a failed one again (once its send is " +
    "recorded, it applies); Remove drops the job (the event stays in the log, and replay-unmatched re-parks it).",
  maintenance:
    "Scheduled upkeep (hourly: dropping the IP address and user agent of opens and clicks older than " +
    "ENGAGEMENT_PII_DAYS). Read-only here; Retry runs a failed run again.",
  webhooks:
    "Outbound webhooks to the applications' endpoints, one job per message (its id is the message's " +
    "webhook-id), retried with exponential backoff for about a day. Each job shows its attempts and last " +
    "error; the outbox row in PostgreSQL is the delivery log (pnpm mailstate webhooks deliveries <endpoint-id>). " +
    "To send one again (same id), run pnpm mailstate webhooks replay <message-id>.",
} as const;

/** Retry failed jobs only. (Bull Board's BaseAdapter reads allowCompletedRetries; its options type omits it.) */
const RETRY_FAILED_ONLY = { allowRetries: true, allowCompletedRetries: false };

function shardDescription(name: string): string {
  return name === "inbox"
    ? QUEUE_DESCRIPTIONS.inbox
    : `Inbox shard ${name.slice("inbox-".length)} (INBOX_SHARDS): the webhooks of the email ids that hash to it. ${QUEUE_DESCRIPTIONS.inbox}`;
}

/** An inbox shard's page: each batch job named by its events' count and types, its data led by one line per event. */
function inboxAdapter(shard: Queue): BullMQAdapter {
  const adapter = new BullMQAdapter(shard, { ...RETRY_FAILED_ONLY, description: shardDescription(shard.name) });
  adapter.setFormatter("name", (job: { name?: string; data?: unknown }) =>
    job.name === "inbox.batch" ? describeInboxBatch(job.data) : (job.name ?? ""),
  );
  adapter.setFormatter("data", (data: unknown) => {
    const events = inboxBatchEvents({ name: "inbox.batch", data });
    return events ? { events: events.map(describeInboxEvent), bodies: events } : data;
  });
  return adapter;
}

export function bullBoardRouter(
  queues: Pick<Queues, "inboxShards" | "unmatched" | "maintenance" | "webhooks">,
  basePath: string,
): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: [
      // readOnlyMode would also refuse retries (405), which the inbox needs after a long outage: the
      // buttons it cannot hide are refused by the guard below instead.
      // One page per inbox shard (INBOX_SHARDS): `inbox`, or `inbox-0`, `inbox-1`…
      ...queues.inboxShards.map((shard) => inboxAdapter(shard)),
      new BullMQAdapter(queues.unmatched, { ...RETRY_FAILED_ONLY, description: QUEUE_DESCRIPTIONS.unmatched }),
      new BullMQAdapter(queues.maintenance, { ...RETRY_FAILED_ONLY, description: QUEUE_DESCRIPTIONS.maintenance }),
      new BullMQAdapter(queues.webhooks, { ...RETRY_FAILED_ONLY, description: QUEUE_DESCRIPTIONS.webhooks }),
    ],
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: "mailstate",
        miscLinks: [{ text: "Support pages", url: SUPPORT_PATH }],
      },
      handlerHooks: bullBoardHooks,
    },
  });
  const router = Router();
  router.use(bullBoardWriteGuard([...queues.inboxShards, queues.unmatched, queues.maintenance, queues.webhooks]));
  router.use(serverAdapter.getRouter() as Router);
  return router;
}
