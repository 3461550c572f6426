// Which unmatched events wait in Redis for their send to be recorded, and what their job says.
// Every unmatched event is in the PostgreSQL log whatever is parked: recording or attaching its
// email id applies it. Parking only adds a retry with backoff, one job per email id, for sends that
// may still be recorded: not Broadcasts (never sent through mailstate), not tagged sends (the SDK
// records before it sends, so a tag no notification answers to is another database's).
import type { JobPayload } from "@mailstate/queue";
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

/** The events to park: the earliest of each email id that may still be recorded. */
export function choosePark(events: UnmatchedEvent[], policy: ParkingPolicy): UnmatchedEvent[] {
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
export function parkedJob(event: UnmatchedEvent, parkedAt: Date): JobPayload<"unmatched.retry"> {
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
