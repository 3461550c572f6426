// /v1/notifications: record sends, attach Resend's id after the send, read state, timeline and pages.
import { randomUUID } from "node:crypto";
import {
  type Db,
  type Notification,
  notifications,
  type Prisma,
  type SendOutcome,
  type SendOutcomeResult,
} from "@mailstate/db";
import { addJobs, jobIdFor, type Queues } from "@mailstate/queue";
import { type Logger, type SuppressionScope, withTimeout } from "@mailstate/runtime";
import { type Response, Router } from "express";
import { AppError } from "../http/problems.ts";
import { loadTimeline } from "../timeline.ts";
import { actingTenant, canSee, type Principal, principalOf } from "./principal.ts";
import {
  listNotificationsQuery,
  type NotificationJson,
  notificationIdParams,
  type RecordNotificationBody,
  recordBatchBody,
  recordNotificationBody,
  type SendOutcomeBody,
  sendOutcomeBatchBody,
  sendOutcomeBody,
  type TimelineEntryJson,
  type TimelineJson,
  timelineQuery,
} from "./schemas.ts";
import { notificationJson, suppressionStatuses } from "./serialize.ts";
import { parseRequest } from "./validate.ts";

export interface NotificationRouteDeps {
  db: Db;
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

export function notificationRoutes({ db, queues, logger, scope }: NotificationRouteDeps): Router {
  const router = Router();

  /**
   * Events that arrived before these ids were recorded are parked; apply them now rather than at
   * the next unmatched retry. Best effort: if Redis cannot take the jobs, the retries still apply them.
   */
  async function replayParked(emailIds: string[]): Promise<void> {
    if (emailIds.length === 0) return;
    const jobs = emailIds.map((emailId) => ({
      payload: { emailId },
      jobId: jobIdFor("replay", `${emailId}-${randomUUID()}`),
    }));
    try {
      await withTimeout(
        addJobs(queues, "inbox.replay-email", jobs),
        REPLAY_ENQUEUE_TIMEOUT_MS,
        "enqueueing the replay",
      );
    } catch (error) {
      logger.warn({ emailIds, err: error instanceof Error ? error.message : String(error) }, "replay not enqueued");
    }
  }

  /**
   * Record one send for a tenant (null: none); answers it with the Resend id whose parked events are
   * now to be replayed. What comes back must be that tenant's: a Resend email id, unique across
   * tenants, may be another's, and its notification is not this caller's to read.
   */
  async function record(
    input: RecordNotificationBody,
    tenant: string | null,
  ): Promise<{ created: boolean; notification: Notification; replay: string | null }> {
    const result = await notifications.record(db, {
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
    });
    if (result.notification.tenant !== tenant) {
      throw new AppError(
        "conflict",
        input.resendEmailId
          ? `resendEmailId ${input.resendEmailId} is already recorded for another tenant`
          : "this idempotencyKey is already recorded for another tenant",
      );
    }
    const replay = result.created || result.attached ? result.notification.resendEmailId : null;
    return { created: result.created, notification: result.notification, replay };
  }

  /** The notification, if this key may see it: another tenant's answers 404 as an unknown id does. */
  async function findOr404(id: string, principal: Principal): Promise<Notification> {
    const row = await notifications.findById(db, id);
    if (!row || !canSee(principal, row.tenant)) throw new AppError("not_found", `no notification has id ${id}`);
    return row;
  }

  /** Of these ids, those of notifications the key may not see (another tenant's): they count as unknown. */
  async function hiddenFrom(principal: Principal, ids: string[]): Promise<Set<string>> {
    if (principal.tenant === null) return new Set();
    const tenants = await notifications.tenantsOf(db, [...new Set(ids)]);
    return new Set([...tenants].filter(([, tenant]) => !canSee(principal, tenant)).map(([id]) => id));
  }

  router.post("/notifications", async (req, res) => {
    const body = parseRequest(recordNotificationBody, req.body, "body");
    const tenant = actingTenant(principalOf(res), body.tenant);
    const { created, notification, replay } = await record(body, tenant);
    if (replay) await replayParked([replay]);
    if (created) res.location(`/v1/notifications/${notification.id}`);
    res.status(created ? 201 : 200).json({ created, notification: notificationJson(notification) });
  });

  router.post("/notifications/batch", async (req, res) => {
    const body = parseRequest(recordBatchBody, req.body, "body");
    // Every item's tenant is checked before any is recorded: a batch naming another tenant records nothing.
    const principal = principalOf(res);
    const tenants = body.notifications.map((input) => actingTenant(principal, input.tenant));
    // One by one, not one transaction: each record is idempotent on its own key, so a client
    // retrying a batch that failed half-way gets the recorded half back and the rest created.
    const data: { created: boolean; notification: NotificationJson }[] = [];
    const replays: string[] = [];
    for (const [index, input] of body.notifications.entries()) {
      const { created, notification, replay } = await record(input, tenants[index] ?? null);
      data.push({ created, notification: notificationJson(notification) });
      if (replay) replays.push(replay);
    }
    // One enqueue for the batch, under one deadline.
    await replayParked(replays);
    res.status(data.some((item) => item.created) ? 201 : 200).json({ data });
  });

  /**
   * Attach Resend's ids or record its refusals; replay the parked events of the ids attached.
   * Answers each item with what became of it; another tenant's notification is not found.
   */
  async function applyOutcomes(
    res: Response,
    items: SendOutcome[],
  ): Promise<{ item: SendOutcome; result: SendOutcomeResult }[]> {
    const hidden = await hiddenFrom(
      principalOf(res),
      items.map((item) => item.id),
    );
    const allowed = items.filter((item) => !hidden.has(item.id));
    const results = await notifications.applySendOutcomes(db, allowed);
    const resultOf = new Map(allowed.map((item, index) => [item, results[index] ?? NOT_FOUND]));
    const reported = items.map((item) => ({ item, result: resultOf.get(item) ?? NOT_FOUND }));
    await replayParked(
      reported.flatMap(({ item, result }) =>
        "resendEmailId" in item && result.kind === "applied" ? [item.resendEmailId] : [],
      ),
    );
    return reported;
  }

  // Before /notifications/:id, which would take "batch" for an id.
  router.patch("/notifications/batch", async (req, res) => {
    const body = parseRequest(sendOutcomeBatchBody, req.body, "body");
    const items = body.notifications.map(({ id, ...outcome }) => toSendOutcome(id, outcome));
    const data = await Promise.all(
      (await applyOutcomes(res, items)).map(async ({ item, result }) => {
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
              detail: await conflictDetail(item, principalOf(res)),
            };
        }
      }),
    );
    res.json({ data });
  });

  router.patch("/notifications/:id", async (req, res) => {
    const { id } = parseRequest(notificationIdParams, req.params, "params");
    const item = toSendOutcome(id, parseRequest(sendOutcomeBody, req.body, "body"));
    const [reported] = await applyOutcomes(res, [item]);
    const result = reported?.result ?? NOT_FOUND;
    if (result.kind === "not_found") throw new AppError("not_found", `no notification has id ${id}`);
    if (result.kind === "conflict") throw new AppError("conflict", await conflictDetail(item, principalOf(res)));
    res.json(notificationJson(result.notification));
  });

  /** Why the outcome conflicts; the notification holding the id is named only when the key may see it. */
  async function conflictDetail(item: SendOutcome, principal: Principal): Promise<string> {
    if (!("resendEmailId" in item)) return `notification ${item.id} already went out under another resendEmailId`;
    const holder = await notifications.findByResendEmailId(db, item.resendEmailId);
    if (!holder || holder.id === item.id) return `notification ${item.id} already carries another resendEmailId`;
    const named = canSee(principal, holder.tenant) ? ` (${holder.id})` : "";
    return `another notification${named} already carries resendEmailId ${item.resendEmailId}`;
  }

  router.get("/notifications/:id", async (req, res) => {
    const { id } = parseRequest(notificationIdParams, req.params, "params");
    res.json(notificationJson(await findOr404(id, principalOf(res))));
  });

  router.get("/notifications/:id/timeline", async (req, res) => {
    const { id } = parseRequest(notificationIdParams, req.params, "params");
    const query = parseRequest(timelineQuery, req.query, "query");
    const { notification, state, items, engagementTotal, nextEngagementCursor, suppressions, invalid } =
      await loadTimeline(db, await findOr404(id, principalOf(res)), {
        scope,
        page: { limit: query.engagementLimit, after: query.engagementCursor },
      });
    const body: TimelineJson = {
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
    res.json(body);
  });

  router.get("/notifications", async (req, res) => {
    const query = parseRequest(listNotificationsQuery, req.query, "query");
    const tenant = actingTenant(principalOf(res), query.tenant);
    // A tenant's key lists its tenant's; an admin key every tenant's, or the one it names.
    const rows = await notifications.list(db, {
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

  return router;
}
