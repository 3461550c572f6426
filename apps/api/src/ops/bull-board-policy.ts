// What ops may change through Bull Board. Only signed webhooks may enter the inbox, so the inbox is
// read-only apart from retrying failed jobs, and `unmatched` keeps promote, retry and remove. Any
// other write, including any route a later Bull Board adds, is refused: an allow-list, checked at
// the HTTP level (403 problem+json) and again inside Bull Board by a handler hook.

import { appRoutes } from "@bull-board/api/dist/routes.js";
import type { BoardHooks, HTTPMethod } from "@bull-board/api/typings/app";
import { isInboxQueueName, QUEUE_NAMES, type QueueName } from "@mailstate/queue";
import type { Queue } from "bullmq";
import type { RequestHandler } from "express";
import { sendProblem } from "../http/problems.ts";

export interface AllowedWrite {
  method: HTTPMethod;
  /** Bull Board's own route pattern, as in its `appRoutes`. */
  route: string;
  queues: readonly QueueName[];
  /** Route parameters that must take one of these values. */
  params?: Record<string, readonly string[]>;
  /** The job (`:jobId`) must be in this state. */
  jobState?: "failed";
  why: string;
}

const ALLOWED_BULL_BOARD_WRITES: readonly AllowedWrite[] = [
  {
    method: "put",
    route: "/api/queues/:queueName/:jobId/retry",
    queues: [QUEUE_NAMES.inbox, QUEUE_NAMES.unmatched, QUEUE_NAMES.maintenance],
    jobState: "failed",
    why: "run a failed job again with the data it already has",
  },
  {
    method: "put",
    route: "/api/queues/:queueName/retry/:queueStatus",
    queues: [QUEUE_NAMES.inbox, QUEUE_NAMES.unmatched, QUEUE_NAMES.maintenance],
    params: { queueStatus: ["failed"] },
    why: "run every failed job again",
  },
  {
    method: "put",
    route: "/api/queues/:queueName/:jobId/promote",
    queues: [QUEUE_NAMES.unmatched],
    why: "try a parked event now instead of at its next backoff",
  },
  {
    method: "put",
    route: "/api/queues/:queueName/promote",
    queues: [QUEUE_NAMES.unmatched],
    why: "try every parked event now",
  },
  {
    method: "put",
    route: "/api/queues/:queueName/:jobId/clean",
    queues: [QUEUE_NAMES.unmatched],
    why: "remove one parked event's job (the event stays in the log; replay-unmatched re-parks it)",
  },
];

interface BullBoardRoute {
  method: HTTPMethod;
  route: string;
}

/** Bull Board's API routes in the order its router tries them, so a path resolves to the same route here. */
export const BULL_BOARD_API_ROUTES: readonly BullBoardRoute[] = appRoutes.api.flatMap((definition) => {
  const methods = Array.isArray(definition.method) ? definition.method : [definition.method];
  const routes = Array.isArray(definition.route) ? definition.route : [definition.route];
  return methods.flatMap((method) => routes.map((route) => ({ method, route })));
});

/**
 * The parameters of `path` under an express-style `pattern` (`:name` segments), or undefined.
 * Like Bull Board's express router: literal segments case-insensitive, a trailing slash allowed,
 * parameters percent-decoded. Literals are compared decoded too, which can only match more.
 */
export function matchRoute(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/");
  const got = (path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path).split("/");
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i += 1) {
    const expected = want[i] ?? "";
    let segment: string;
    try {
      segment = decodeURIComponent(got[i] ?? "");
    } catch {
      return undefined;
    }
    if (expected.startsWith(":")) {
      if (segment === "") return undefined;
      params[expected.slice(1)] = segment;
    } else if (segment.toLowerCase() !== expected.toLowerCase()) {
      return undefined;
    }
  }
  return params;
}

/** The Bull Board route a request would reach, with its parameters; undefined when none would. */
export function resolveRoute(
  method: string,
  path: string,
): { route: BullBoardRoute; params: Record<string, string> } | undefined {
  const lower = method.toLowerCase();
  for (const route of BULL_BOARD_API_ROUTES) {
    if (route.method !== lower) continue;
    const params = matchRoute(route.route, path);
    if (params) return { route, params };
  }
  return undefined;
}

/** The allow-list entry that permits this write, if any (job state not checked here). */
export function allowedWrite(method: string, route: string, params: Record<string, string>): AllowedWrite | undefined {
  return ALLOWED_BULL_BOARD_WRITES.find(
    (entry) =>
      entry.method === method.toLowerCase() &&
      entry.route === route &&
      entry.queues.some((queue) => queue === baseQueueName(params.queueName ?? "")) &&
      Object.entries(entry.params ?? {}).every(([name, values]) => values.includes(params[name] ?? "")),
  );
}

const READS = new Set(["GET", "HEAD"]);

/**
 * In front of Bull Board (mounted at its base path): reads pass; a write passes only when the
 * route it reaches is on the allow-list for that queue (and its job is failed, for a job retry).
 */
/** The catalog's queue a Bull Board queue name is: an inbox shard (`inbox-2`) is the inbox. */
function baseQueueName(name: string): string {
  return isInboxQueueName(name) ? QUEUE_NAMES.inbox : name;
}

export function bullBoardWriteGuard(shown: readonly Queue[]): RequestHandler {
  const queues = new Map(shown.map((queue) => [queue.name, queue]));
  return async (req, res, next) => {
    if (READS.has(req.method)) return next();
    const resolved = resolveRoute(req.method, req.path);
    const entry = resolved && allowedWrite(req.method, resolved.route.route, resolved.params);
    if (!resolved || !entry) {
      return sendProblem(
        res,
        "ops_action_forbidden",
        "Bull Board may only retry failed jobs, and promote, retry or remove parked events in unmatched; " +
          "only signed webhooks enter the inbox.",
      );
    }
    if (entry.jobState) {
      const queue = queues.get(resolved.params.queueName ?? "");
      // A queue Bull Board does not show (resend): it answers its own 404.
      if (!queue) return next();
      const state = await queue.getJobState(resolved.params.jobId ?? "");
      // An unknown job passes on: Bull Board answers its own 404.
      if (state !== "unknown" && state !== entry.jobState) {
        return sendProblem(
          res,
          "ops_action_forbidden",
          `only a ${entry.jobState} job can be retried; this one is ${state}`,
        );
      }
    }
    next();
  };
}

/** The same allow-list inside Bull Board, on the route it actually dispatched: a second lock. */
export const bullBoardHooks: BoardHooks = {
  before({ method, route, request }) {
    if (method === "get") return;
    if (allowedWrite(method, route, request.params)) return;
    return { allow: false, status: 403, message: "not allowed from mailstate's Bull Board" };
  },
};
