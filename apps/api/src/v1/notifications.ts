// /v1/notifications: record sends, attach Resend's id after the send, read state, timeline and pages.
import { randomUUID } from "node:crypto";
import {
  type Db,
  events,
  type NewNotification,
  type Notification,
  notificationReads,
  notificationRecords,
  type Prisma,
  type RecordResult,
  type SendOutcome,
  type SendOutcomeResult,
  type SqlPool,
} from "@mailstate/db";
import { addJobs, jobIdFor, type Queues } from "@mailstate/queue";
import { type Logger, MicroBatcher, type SuppressionScope, withTimeout } from "@mailstate/runtime";
import { Router } from "express";
import { AppError } from "../http/problems.ts";
import { loadTimeline, type NotificationTimeline } from "../timeline.ts";
import { actingTenant, canSee, type Principal, principalOf } from "./principal.ts";
import {
  listNotificationsQuery,
  notificationIdParams,
  type RecordNotificationBody,
  recordBatchBody,
  recordNotificationBody,
  type SendOutcomeBody,
  sendOutcomeBatchBody,
  sendOutcomeBody,
  timelineQuery,
} from "./schemas/requests.ts";
import type { TimelineEntryJson, TimelineJson } from "./schemas/responses.ts";
import { notificationJson, suppressionStatuses } from "./serialize.ts";
import { parseRequest } from "./validate.ts";

export interface NotificationRouteDeps {
  db: Db;
  /** The record path's pool: recording and attaching are plain SQL. */
  sql: SqlPool;
  queues: Queues;
  logger: Logger;
  /** The timeline's recipients are checked against the suppressions that apply to the notification's tenant. */
  scope: SuppressionScope;
}

const REPLAY_ENQUEUE_TIMEOUT_MS = 2_000;
const NOT_FOUND = { kind: "not_found" } as const;

function toSendOutcome(id: string, body: SendOutcomeBody): SendOutcome {
  if (body.resendEmailId !== undefined) return { id, resendEmailId: body.resendEmailId };
  // The body schema lets exactly one of the two through.
  return { id, sendError: body.sendError as NonNullable<SendOutcomeBody["sendError"]> };
}

/** A send as recorded for a tenant (null: none), which the route has checked the key may act for. */
function toNewNotification(input: RecordNotificationBody, tenant: string | null): NewNotification {
  return {
    recipients: input.to,
    from: input.from,
    subject: input.subject,
    tenant,
    tags: input.tags ?? {},
    category: input.category ?? null,
    // JSON from the request body: JSON-safe by construction.
    metadata: (input.metadata as Prisma.InputJsonObject | undefined) ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
    resendEmailId: input.resendEmailId ?? null,
    suppressionBypassed: input.suppressionBypassed,
  };
}

/** The Resend id a record brought to its notification (created with it, or attached by a repeat), if any. */
const broughtEmailId = ({ created, attached, notification }: RecordResult) =>
  (created || attached) && notification.resendEmailId ? [notification.resendEmailId] : [];

/**
 * Events that arrived before these ids were recorded or attached are parked (logged unmatched):
 * apply them now rather than at the next unmatched retry, with a replay job for each id that has
 * any, and none for the others (most records, whose events come after them).
 *
 * Asked after the record committed, never inside its statement: the worker logs an event as
 * unmatched in a transaction that found no notification carrying its id, and after that commits
 * it asks which ids a notification carries now (notificationMatching.carrying) and replays those. Of the
 * two commits, the record's and the worker's, whichever comes second is followed by a check that
 * sees the other: if the record committed before the worker's check, the worker replays; if not,
 * the worker's commit came before its check and so before the record's commit, and this check
 * sees the unmatched event. Each check is a statement of its own, on a fresh snapshot.
 *
 * Best effort, like the enqueue: the record is in, and the unmatched retries still apply them.
 */
function parkedReplayEnqueuer({ sql, queues, logger }: NotificationRouteDeps): (emailIds: string[]) => Promise<void> {
  // The checks of records committed at about the same moment go as one statement: each is still
  // asked after its own record committed. One at a time; what commits meanwhile waits for the next.
  const parkedAmong = new MicroBatcher<string[], string[]>(
    async (lists) => {
      const parked = new Set(await events.withUnmatched(sql, [...new Set(lists.flat())]));
      return lists.map((emailIds) => emailIds.filter((emailId) => parked.has(emailId)));
    },
    { maxSize: 256, maxWaitMs: 2 },
  );

  return async function enqueueParkedReplays(emailIds: string[]): Promise<void> {
    if (emailIds.length === 0) return;
    try {
      const parked = await parkedAmong.submit(emailIds);
      if (parked.length === 0) return;
      const jobs = parked.map((emailId) => ({
        payload: { emailId },
        jobId: jobIdFor("replay", `${emailId}-${randomUUID()}`),
      }));
      await withTimeout(
        addJobs(queues, "inbox.replay-email", jobs),
        REPLAY_ENQUEUE_TIMEOUT_MS,
        "enqueueing the replay",
      );
    } catch (error) {
      logger.warn({ emailIds, err: error instanceof Error ? error.message : String(error) }, "replay not enqueued");
    }
  };
}

/** What the routes share: their deps, and the one enqueuer of parked replays. */
interface RouteContext extends NotificationRouteDeps {
  enqueueParkedReplays: (emailIds: string[]) => Promise<void>;
}

/**
 * Record sends for the tenant each names (checked against the key: every one before any is
 * recorded), one result per input in order, and replay what was parked for the ids they brought.
 * What comes back must be that tenant's: an idempotency key is per tenant, but a Resend email id
 * is unique across tenants, and another tenant's notification is not this caller's to read.
 */
async function record(
  { sql, enqueueParkedReplays }: RouteContext,
  principal: Principal,
  inputs: RecordNotificationBody[],
): Promise<RecordResult[]> {
  const tenants = inputs.map((input) => actingTenant(principal, input.tenant));
  const results = await notificationRecords.recordMany(
    sql,
    inputs.map((input, index) => toNewNotification(input, tenants[index] ?? null)),
  );
  await enqueueParkedReplays(results.flatMap(broughtEmailId));
  results.forEach(({ notification }, index) => {
    if (notification.tenant === (tenants[index] ?? null)) return;
    const input = inputs[index];
    throw new AppError(
      "conflict",
      `resendEmailId ${input?.resendEmailId ?? ""} is already recorded for another tenant`,
    );
  });
  return results;
}

const recordJson = ({ created, notification }: RecordResult) => ({
  created,
  notification: notificationJson(notification),
});

/** The notification, if this key may see it: another tenant's answers 404 as an unknown id does. */
async function findOr404(db: Db, id: string, principal: Principal): Promise<Notification> {
  const row = await notificationReads.findById(db, id);
  if (!row || !canSee(principal, row.tenant)) throw new AppError("not_found", `no notification has id ${id}`);
  return row;
}

/** Of these ids, those of notifications the key may not see (another tenant's): they count as unknown. */
async function hiddenFrom(sql: SqlPool, principal: Principal, ids: string[]): Promise<Set<string>> {
  if (principal.tenant === null) return new Set();
  const tenants = await notificationRecords.tenantsOf(sql, [...new Set(ids)]);
  return new Set([...tenants].filter(([, tenant]) => !canSee(principal, tenant)).map(([id]) => id));
}

/**
 * Attach Resend's ids or record its refusals; replay the parked events of the ids attached.
 * Answers each item with what became of it; another tenant's notification is not found.
 */
async function applyOutcomes(
  { sql, enqueueParkedReplays }: RouteContext,
  principal: Principal,
  items: SendOutcome[],
): Promise<{ item: SendOutcome; result: SendOutcomeResult }[]> {
  const hidden = await hiddenFrom(
    sql,
    principal,
    items.map((item) => item.id),
  );
  const allowed = items.filter((item) => !hidden.has(item.id));
  const results = await notificationRecords.applySendOutcomes(sql, allowed);
  const resultOf = new Map(allowed.map((item, index) => [item, results[index] ?? NOT_FOUND]));
  const reported = items.map((item) => ({ item, result: resultOf.get(item) ?? NOT_FOUND }));
  await enqueueParkedReplays(
    reported.flatMap(({ item, result }) =>
      "resendEmailId" in item && result.kind === "applied" ? [item.resendEmailId] : [],
    ),
  );
  return reported;
}

/** Why the outcome conflicts; the notification holding the id is named only when the key may see it. */
async function conflictDetail(db: Db, item: SendOutcome, principal: Principal): Promise<string> {
  if (!("resendEmailId" in item)) return `notification ${item.id} already went out under another resendEmailId`;
  const holder = await notificationReads.findByResendEmailId(db, item.resendEmailId);
  if (!holder || holder.id === item.id) return `notification ${item.id} already carries another resendEmailId`;
  const named = canSee(principal, holder.tenant) ? ` (${holder.id})` : "";
  return `another notification${named} already carries resendEmailId ${item.resendEmailId}`;
}

/** One item of `PATCH /notifications/batch`'s answer. */
async function outcomeItemJson(
  db: Db,
  principal: Principal,
  { item, result }: { item: SendOutcome; result: SendOutcomeResult },
) {
  switch (result.kind) {
    case "applied": {
      const status = "sendError" in item ? ("refusal_recorded" as const) : ("attached" as const);
      return { id: item.id, status, notification: notificationJson(result.notification) };
    }
    case "not_found":
      return {
        id: item.id,
        status: result.kind,
        notification: null,
        detail: `no notification has id ${item.id}`,
      };
    case "conflict":
      return {
        id: item.id,
        status: result.kind,
        notification: null,
        detail: await conflictDetail(db, item, principal),
      };
  }
}

function timelineJson({
  notification,
  state,
  items,
  engagementTotal,
  nextEngagementCursor,
  suppressions,
  invalid,
}: NotificationTimeline): TimelineJson {
  return {
    notification: notificationJson(notification),
    state,
    events: items.map(
      (item): TimelineEntryJson => ({
        svixId: item.svixId,
        type: item.type,
        occurredAt: item.occurredAt.toISOString(),
        receivedAt: item.receivedAt.toISOString(),
        replayedAt: item.replayedAt?.toISOString() ?? null,
        kind: item.kind,
        stateBefore: item.stateBefore,
        stateAfter: item.stateAfter,
        moved: item.moved,
        recipients: item.recipients,
        engagement: item.engagement,
        detail: item.detail,
        source: item.source,
      }),
    ),
    engagementTotal,
    nextEngagementCursor,
    recipients: suppressionStatuses(notification.recipients, suppressions),
    invalidEvents: invalid.map((item) => ({
      ...item,
      occurredAt: item.occurredAt.toISOString(),
      receivedAt: item.receivedAt.toISOString(),
    })),
  };
}

/** POST: record sends, one or a batch. */
function addRecordRoutes(router: Router, context: RouteContext): void {
  router.post("/notifications", async (req, res) => {
    const body = parseRequest(recordNotificationBody, req.body, "body");
    const [result] = await record(context, principalOf(res), [body]);
    if (!result) throw new Error("recording answered no result");
    // A UUID needs none of res.location's encoding.
    if (result.created) res.setHeader("Location", `/v1/notifications/${result.notification.id}`);
    res.status(result.created ? 201 : 200).json(recordJson(result));
  });

  router.post("/notifications/batch", async (req, res) => {
    const body = parseRequest(recordBatchBody, req.body, "body");
    // One insert for the sends that overlap nowhere: all of them are in, or none. Each is
    // idempotent on its own key, so a client retrying a batch gets what was recorded back.
    const results = await record(context, principalOf(res), body.notifications);
    res.status(results.some((result) => result.created) ? 201 : 200).json({ data: results.map(recordJson) });
  });
}

/** PATCH: what became of the sends (Resend's id attached, or its refusal), one or a batch. */
function addOutcomeRoutes(router: Router, context: RouteContext): void {
  // Before /notifications/:id, which would take "batch" for an id.
  router.patch("/notifications/batch", async (req, res) => {
    const body = parseRequest(sendOutcomeBatchBody, req.body, "body");
    const items = body.notifications.map(({ id, ...outcome }) => toSendOutcome(id, outcome));
    const principal = principalOf(res);
    const reported = await applyOutcomes(context, principal, items);
    const data = await Promise.all(reported.map((entry) => outcomeItemJson(context.db, principal, entry)));
    res.json({ data });
  });

  router.patch("/notifications/:id", async (req, res) => {
    const { id } = parseRequest(notificationIdParams, req.params, "params");
    const item = toSendOutcome(id, parseRequest(sendOutcomeBody, req.body, "body"));
    const principal = principalOf(res);
    const [reported] = await applyOutcomes(context, principal, [item]);
    const result = reported?.result ?? NOT_FOUND;
    if (result.kind === "not_found") throw new AppError("not_found", `no notification has id ${id}`);
    if (result.kind === "conflict") throw new AppError("conflict", await conflictDetail(context.db, item, principal));
    res.json(notificationJson(result.notification));
  });
}

/** GET: one notification, its timeline, and pages of them. */
function addReadRoutes(router: Router, { db, scope }: RouteContext): void {
  router.get("/notifications/:id", async (req, res) => {
    const { id } = parseRequest(notificationIdParams, req.params, "params");
    res.json(notificationJson(await findOr404(db, id, principalOf(res))));
  });

  router.get("/notifications/:id/timeline", async (req, res) => {
    const { id } = parseRequest(notificationIdParams, req.params, "params");
    const query = parseRequest(timelineQuery, req.query, "query");
    const timeline = await loadTimeline(db, await findOr404(db, id, principalOf(res)), {
      scope,
      page: { limit: query.engagementLimit, after: query.engagementCursor },
    });
    res.json(timelineJson(timeline));
  });

  router.get("/notifications", async (req, res) => {
    const query = parseRequest(listNotificationsQuery, req.query, "query");
    const tenant = actingTenant(principalOf(res), query.tenant);
    // A tenant's key lists its tenant's; an admin key every tenant's, or the one it names.
    const rows = await notificationReads.list(db, {
      ...query,
      ...(tenant === null ? {} : { tenant }),
      limit: query.limit + 1,
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    res.json({
      data: page.map(notificationJson),
      nextCursor: rows.length > query.limit && last ? last.id : null,
    });
  });
}

export function notificationRoutes(deps: NotificationRouteDeps): Router {
  const router = Router();
  const context: RouteContext = { ...deps, enqueueParkedReplays: parkedReplayEnqueuer(deps) };
  addRecordRoutes(router, context);
  addOutcomeRoutes(router, context);
  addReadRoutes(router, context);
  return router;
}
