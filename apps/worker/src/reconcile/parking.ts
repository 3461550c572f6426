// Which unmatched events wait in Redis for their send to be recorded, what their job says, and the
// parking itself. Every unmatched event is in the PostgreSQL log whatever is parked: recording or
// attaching its email id applies it. Parking only adds a retry with backoff, one job per email id,
// for sends that may still be recorded: not Broadcasts (never sent through mailstate), not tagged
// sends (the SDK records before it sends, so a tag no notification answers to is another database's).
import { notificationMatching, type SqlPool } from "@mailstate/db";
import { addJobs, type JobPayload, jobIdFor, type Queues } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import type { UnmatchedEvent } from "./reconcile-events.ts";

export interface ParkingPolicy {
  /** PARK_UNTAGGED */
  parkUntagged: boolean;
  /** PARK_MAX_EMAILS */
  maxParkedEmails: number;
}

/** What a parked job shows of its text fields at most; the support page shows the whole event. */
const SHOWN_LENGTH = 120;

const shown = (text: string | null) => (text === null ? null : text.slice(0, SHOWN_LENGTH));

/** The "parking bound hit" warning, at most this often: a broadcast would otherwise flood the log. */
const BOUND_WARNING_EVERY_MS = 60_000;

/** The events to park: the earliest of each email id that may still be recorded. */
function choosePark(events: UnmatchedEvent[], policy: ParkingPolicy): UnmatchedEvent[] {
  if (!policy.parkUntagged) return [];
  const earliest = new Map<string, UnmatchedEvent>();
  for (const event of events) {
    if (event.broadcast || event.tagged) continue;
    const kept = earliest.get(event.emailId);
    if (!kept || event.occurredAt < kept.occurredAt) earliest.set(event.emailId, event);
  }
  return [...earliest.values()];
}

/** The job of a parked email id, as ops read it in Bull Board. */
function parkedJob(event: UnmatchedEvent, parkedAt: Date): JobPayload<"unmatched.retry"> {
  return {
    emailId: event.emailId,
    type: event.type,
    recipient: shown(event.recipient),
    subject: shown(event.subject),
    occurredAt: event.occurredAt.toISOString(),
    parkedAt: parkedAt.toISOString(),
    supportUrl: `/support?${new URLSearchParams({ q: event.emailId })}`,
  };
}

/** Parking jobs of email ids now applied have nothing left to do: remove them so ops see none stale. */
export async function unpark(queues: Queues, emailIds: string[]): Promise<void> {
  await Promise.all(emailIds.map((emailId) => queues.unmatched.remove(jobIdFor("unmatched", emailId)).catch(() => 0)));
}

export interface ParkingDeps {
  sql: SqlPool;
  queues: Queues;
  logger: Logger;
  parking: ParkingPolicy;
  /** Apply now the parked events of these email ids (the reconciler's replay). */
  replay: (emailIds: string[]) => Promise<unknown>;
}

/** Parks the unmatched events of a committed batch, within PARK_MAX_EMAILS. */
export function createParking({
  sql,
  queues,
  logger,
  parking,
  replay,
}: ParkingDeps): (unmatched: UnmatchedEvent[]) => Promise<void> {
  let boundWarnedAt = 0;

  /** How many of these email ids the unmatched queue has room for (some may be parked already). */
  async function parkingRoom(wanted: number): Promise<number> {
    const counts = await queues.unmatched.getJobCounts("waiting", "delayed", "prioritized", "active", "failed");
    const parked = Object.values(counts).reduce((sum, count) => sum + count, 0);
    const room = Math.max(0, parking.maxParkedEmails - parked);
    if (room >= wanted) return wanted;
    if (Date.now() - boundWarnedAt >= BOUND_WARNING_EVERY_MS) {
      boundWarnedAt = Date.now();
      logger.warn(
        { parked, PARK_MAX_EMAILS: parking.maxParkedEmails },
        "parking bound hit: events of unknown email ids are logged in PostgreSQL but not parked in Redis; " +
          "recording their send or `mailstate replay-unmatched` still applies them",
      );
    }
    return room;
  }

  return async function parkUnmatched(unmatched: UnmatchedEvent[]): Promise<void> {
    if (unmatched.length === 0) return;
    const candidates = choosePark(unmatched, parking);
    const toPark = candidates.length > 0 ? candidates.slice(0, await parkingRoom(candidates.length)) : [];
    if (toPark.length > 0) {
      const parkedAt = new Date();
      // An email id parked already keeps its job: adding the same job id again is a no-op.
      await addJobs(
        queues,
        "unmatched.retry",
        toPark.map((event) => ({ payload: parkedJob(event, parkedAt), jobId: jobIdFor("unmatched", event.emailId) })),
      );
    }
    // The send may have been recorded while this batch was committing; if so, apply now rather
    // than after the first backoff. The API asks the log the other way round once a record commits
    // (enqueueParkedReplays in apps/api/src/v1/notifications.ts): whichever commits second, its
    // check sees the other's row.
    const recorded = await notificationMatching.carrying(sql, [...new Set(unmatched.map((event) => event.emailId))]);
    if (recorded.length > 0) await replay(recorded);
  };
}
