// The bound on every request that needs PostgreSQL (DATABASE_TIMEOUT_MS): by then it has its
// answer, or 503 problem+json with Retry-After. The pools enforce it statement by statement (a
// lock waited for at most half of it, a statement and a wait for a connection at most all of it),
// and this deadline enforces it for the request as a whole, whatever it queued behind. What a
// handler answers after the deadline is dropped. Each request that ran out, or that PostgreSQL
// refused, is noted so /readyz can name PostgreSQL as degraded while it lasts.
import type { RequestHandler } from "express";
import { sendProblem } from "./problems.ts";

/** How long after the last slow request /readyz still calls PostgreSQL degraded. */
const DEGRADED_FOR_MS = 30_000;

export interface DatabaseHealth {
  /** A request PostgreSQL did not answer in time, or refused. */
  noteFailure(): void;
  /** Why PostgreSQL counts as degraded now, or null. */
  degraded(): string | null;
}

export function createDatabaseHealth(now = () => Date.now()): DatabaseHealth {
  let failures: number[] = [];
  return {
    noteFailure() {
      failures.push(now());
      // Bounded: only the window's failures are kept.
      failures = failures.filter((at) => at > now() - DEGRADED_FOR_MS);
    },
    degraded() {
      failures = failures.filter((at) => at > now() - DEGRADED_FOR_MS);
      if (failures.length === 0) return null;
      return `degraded: ${failures.length} request(s) in the last ${DEGRADED_FOR_MS / 1_000} s got no answer from PostgreSQL in time (a locked table or a slow statement)`;
    },
  };
}

export function databaseDeadline(timeoutMs: number, health: DatabaseHealth): RequestHandler {
  const retryAfter = String(Math.max(1, Math.ceil(timeoutMs / 1_000)));
  return (_req, res, next) => {
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      health.noteFailure();
      res.setHeader("Retry-After", retryAfter);
      sendProblem(
        res,
        "database_unavailable",
        `PostgreSQL did not answer within ${timeoutMs} ms (a locked table or a slow statement); retry later`,
      );
    }, timeoutMs);
    const done = () => clearTimeout(timer);
    res.once("finish", done);
    res.once("close", done);
    next();
  };
}
