// The records the stand-in keeps of what it was asked, in the shapes tests read them in. A leaf
// module: the stores, the routes and the webhook planner share these without importing the entry.

/** An email as Resend's API accepted it (snake_case fields, as posted), with the id it was given. */
export interface StoredEmail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  cc: string[];
  bcc: string[];
  html?: string;
  text?: string;
  tags: { name: string; value: string }[];
  createdAt: string;
  /** Present when the email came through POST /emails/batch: the index of that call. */
  batchCall?: number;
  /** `scheduled_at` as posted: the stand-in never sends a scheduled email, it stays scheduled until cancelled. */
  scheduledAt?: string;
  /** Cancelled by POST /emails/:id/cancel while scheduled. */
  canceled?: boolean;
  idempotencyKey?: string;
  body: Record<string, unknown>;
}

export interface BatchCall {
  size: number;
  idempotencyKey?: string;
  ids: string[];
}

/** One address on the account's suppression list, as Resend's API answers it. */
export interface StandinSuppression {
  id: string;
  email: string;
  origin: "bounce" | "complaint" | "manual";
  source_id: string | null;
  created_at: string;
}

/** A contact of an audience (PATCH /audiences/:id/contacts/:email updates it). */
export interface StandinContact {
  id: string;
  email: string;
  audienceId: string;
  unsubscribed: boolean;
}

/** A fault to answer instead of the route's own reply: a status, or a delay before the real answer. */
export interface StandinFault {
  /** Route name, e.g. `GET /emails/:id` (see `routeCalls`). */
  route: string;
  /** Answer this status with a Resend-like error body. */
  status?: number;
  /** Hold the answer this long (a timeout, from the client's side). */
  delayMs?: number;
  /** Answer 200 with this body instead of the route's (an answer that does not parse). */
  body?: unknown;
  /** How many calls it hits; default 1. */
  times?: number;
  /** How many calls of the route are answered as usual before it hits; default 0. */
  skip?: number;
}

/** One request as the stand-in answered it: method, path, status, route name, when it arrived. */
export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  route: string | null;
  at: number;
}
