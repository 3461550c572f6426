// /support: find a notification by recipient, Message-ID, notification id or Resend email id, and read its
// page (state, recipients and their suppressions, the timeline). Server-rendered HTML only.
import {
  auditLog,
  type Db,
  events,
  isDatabaseUnavailable,
  listOf,
  messageIdKey,
  type Notification,
  notificationReads,
  ops,
  type RollupCounts,
  reputation,
  type SqlRunner,
  softBounces,
} from "@mailstate/db";
import { eventTraceIdOf } from "@mailstate/resend-events";
import type { Logger, SuppressionScope } from "@mailstate/runtime";
import { normalizeEmail } from "@mailstate/state-machine";
import { type ErrorRequestHandler, type Response, Router } from "express";
import { z } from "zod";
import { clientProblem } from "../http/problems.ts";
import { loadTimeline } from "../timeline.ts";
import { fillSeries, windowStart } from "../v1/reputation.ts";
import { text } from "../v1/schemas/fields.ts";
import { type Html, html } from "./html.ts";
import { closeness, reputationPage, type TenantReputation } from "./reputation-views.ts";
import type { DeadLetterView } from "./support-fragments.ts";
import { messagePage, SUPPORT_PATH } from "./support-layout.ts";
import { notificationPage } from "./support-notification-page.ts";
import { type SearchView, searchPage } from "./support-search-page.ts";

export interface SupportDeps {
  db: Db;
  /** The reputation rollups are read with plain SQL. */
  sql: SqlRunner;
  logger: Logger;
  /** Each recipient's suppression is the one that applies to the notification's tenant. */
  scope: SuppressionScope;
  /** TRACE_URL_TEMPLATE: where the pages link an event's trace id ({traceId} replaced); null: no link. */
  traceUrlTemplate?: string | null;
}

/** Dead letters as the pages show them: with the trace id their stored body carries, if any. */
async function deadLetterViews(pending: ReturnType<typeof ops.deadLettersFor>): Promise<DeadLetterView[]> {
  return (await pending).map(({ body, ...letter }) => ({ ...letter, traceId: traceIdOfBody(body) }));
}

function traceIdOfBody(body: string): string | null {
  if (!body.includes('"traceparent"')) return null;
  try {
    return eventTraceIdOf(JSON.parse(body));
  } catch {
    return null;
  }
}

const PAGE_SIZE = 25;

const searchQuery = z.object({
  // NUL or a lone surrogate cannot be searched for in PostgreSQL: a 400 page, not a failed query.
  q: text().trim().max(500, "is too long").default(""),
  /** Support sees every tenant; this narrows the results to one. */
  tenant: text().trim().max(200, "is too long").default(""),
  cursor: z.uuid().optional(),
});
const pageParams = z.object({ id: z.uuid() });
const reputationParams = z.object({ tenant: text().trim().max(200, "is too long").default("") });

/** Tenants charted on /support/reputation; the others are listed in its table. */
const CHARTED_TENANTS = 12;

type SearchTarget =
  | { kind: "none" }
  | { kind: "address"; email: string; messageId: string }
  | { kind: "id"; id: string };

/**
 * One search box: something with an @ is a recipient's address or a Message-ID (`<id@host>`, with
 * or without the brackets), which look alike, so both are asked; anything else is an id of either kind.
 */
function readSearch(query: string): SearchTarget {
  if (query === "") return { kind: "none" };
  if (query.includes("@")) return { kind: "address", email: normalizeEmail(query), messageId: messageIdKey(query) };
  return { kind: "id", id: query };
}

const isUuid = (value: string) => z.uuid().safeParse(value).success;

function send(res: Response, status: number, page: Html): void {
  res.status(status).type("html").send(page.value);
}

/** Each tenant's 30 days (every day, the empty ones as zeros) and totals, closest to a threshold first. */
async function loadTenantReputation(sql: SqlRunner, only: string | null, now = new Date()) {
  const since = windowStart("30d", now);
  const rows = await reputation.dailyByTenant(sql, since);
  const byTenant = new Map<string, typeof rows>();
  for (const row of rows) {
    if (only !== null && row.tenant !== only) continue;
    byTenant.set(row.tenant, [...(byTenant.get(row.tenant) ?? []), row]);
  }
  const tenants: TenantReputation[] = [...byTenant].map(([tenant, points]) => {
    const days = fillSeries("30d", since, points);
    const total = days.reduce<RollupCounts>(
      (sum, day) => ({
        sent: sum.sent + day.sent,
        delivered: sum.delivered + day.delivered,
        hardBounced: sum.hardBounced + day.hardBounced,
        softBounced: sum.softBounced + day.softBounced,
        complained: sum.complained + day.complained,
      }),
      { sent: 0, delivered: 0, hardBounced: 0, softBounced: 0, complained: 0 },
    );
    return { tenant, total, days };
  });
  tenants.sort((a, b) => closeness(b.total) - closeness(a.total) || b.total.sent - a.total.sent);
  const days = fillSeries("30d", since, []).map((day) => day.at);
  return { days, tenants };
}

export function supportRoutes({ db, sql, logger, scope, traceUrlTemplate = null }: SupportDeps): Router {
  const router = Router();

  router.use((_req, res, next) => {
    // Recipient addresses are personal data: keep them out of caches and away from other sites.
    res.set({
      "Cache-Control": "no-store",
      "Content-Security-Policy":
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
      "Referrer-Policy": "no-referrer",
      "X-Content-Type-Options": "nosniff",
    });
    next();
  });

  async function findById(id: string): Promise<Notification[]> {
    // Resend's email ids are UUIDs too, so a UUID may be either kind: ask for both.
    const [byId, byEmailId] = await Promise.all([
      isUuid(id) ? notificationReads.findById(db, id) : null,
      notificationReads.findByResendEmailId(db, id),
    ]);
    return [byId, byEmailId].filter(
      (row, index, rows): row is Notification =>
        row !== null && rows.findIndex((other) => other?.id === row.id) === index,
    );
  }

  /** The dead letters of these notifications' Resend email ids, as their pages list them. */
  async function deadLettersOf(rows: Notification[]) {
    const emailIds = [...new Set(rows.flatMap((row) => (row.resendEmailId ? [row.resendEmailId] : [])))];
    return (await Promise.all(emailIds.map((id) => deadLetterViews(ops.deadLettersFor(db, { id }))))).flat();
  }

  router.get("/", async (req, res) => {
    const parsed = searchQuery.safeParse(req.query);
    if (!parsed.success) {
      return send(res, 400, messagePage("That search cannot be read", "Search for one address or one id at a time."));
    }
    const { q, cursor, tenant } = parsed.data;
    const target = readSearch(q);
    let view: SearchView;
    if (target.kind === "id") {
      const results = (await findById(target.id)).filter((row) => tenant === "" || row.tenant === tenant);
      const [parked, deadLetters] = await Promise.all([
        results.length === 0 ? events.listUnmatched(db, { emailId: target.id, limit: 100 }) : [],
        deadLetterViews(ops.deadLettersFor(db, { id: target.id })),
      ]);
      view = { query: q, tenant, matchedBy: "id", results, nextPageHref: null, parked, deadLetters, traceUrlTemplate };
    } else {
      const page = { cursor, limit: PAGE_SIZE + 1, ...(tenant === "" ? {} : { tenant }) };
      // A Message-ID is an email's own (no recipient's address is one): when it names some, they are the answer.
      const byMessageId =
        target.kind === "address" && target.messageId !== ""
          ? await notificationReads.list(db, { ...page, messageId: target.messageId })
          : [];
      const email = target.kind === "address" && byMessageId.length === 0 ? target.email : undefined;
      const rows = byMessageId.length > 0 ? byMessageId : await notificationReads.list(db, { ...page, email });
      const results = rows.slice(0, PAGE_SIZE);
      const last = results.at(-1);
      const nextPageHref =
        rows.length > PAGE_SIZE && last
          ? `${SUPPORT_PATH}?${new URLSearchParams({ ...(q ? { q } : {}), ...(tenant ? { tenant } : {}), cursor: last.id })}`
          : null;
      const deadLetters =
        byMessageId.length > 0
          ? await deadLettersOf(results)
          : email
            ? await deadLetterViews(ops.deadLettersFor(db, { address: email }))
            : [];
      view = {
        query: q,
        tenant,
        matchedBy: byMessageId.length > 0 ? "messageId" : target.kind === "address" ? "recipient" : "latest",
        results,
        nextPageHref,
        deadLetters,
        traceUrlTemplate,
      };
    }
    send(res, 200, searchPage(view));
  });

  router.get("/notifications/:id", async (req, res) => {
    const parsed = pageParams.safeParse(req.params);
    const row = parsed.success ? await notificationReads.findById(db, parsed.data.id) : null;
    if (!row) {
      return send(
        res,
        404,
        messagePage("Notification not found", html`No notification has the id <code>${String(req.params.id)}</code>.`),
      );
    }
    const recipients = [...new Set(row.recipients)];
    const suppressionView = { scope, tenant: row.tenant };
    const [timeline, counters, changes, deadLetters] = await Promise.all([
      loadTimeline(db, row, { scope }),
      softBounces.countsOf(db, recipients, listOf(suppressionView)),
      auditLog.forAddresses(db, recipients, suppressionView),
      row.resendEmailId ? deadLetterViews(ops.deadLettersFor(db, { id: row.resendEmailId })) : [],
    ]);
    const suppressionOf = new Map(timeline.suppressions.map((item) => [item.email, item]));
    const counterOf = new Map(counters.map((item) => [item.email, item]));
    send(
      res,
      200,
      notificationPage({
        timeline,
        recipients: recipients.map((email) => ({
          email,
          suppression: suppressionOf.get(email) ?? null,
          softBounces: counterOf.get(email) ?? null,
          changes: changes.filter((change) => change.email === email),
        })),
        scope,
        deadLetters,
        traceUrlTemplate,
      }),
    );
  });

  router.get("/reputation", async (req, res) => {
    const parsed = reputationParams.safeParse(req.query);
    if (!parsed.success) {
      return send(res, 400, messagePage("That tenant cannot be read", "Name one tenant, at most 200 characters."));
    }
    const only = parsed.data.tenant === "" ? null : parsed.data.tenant;
    const { days, tenants } = await loadTenantReputation(sql, only);
    send(res, 200, reputationPage({ days, tenants, only, charted: only === null ? CHARTED_TENANTS : 1 }));
  });

  router.use((_req, res) => {
    send(res, 404, messagePage("Page not found", "There is no support page at this address."));
  });

  const errors: ErrorRequestHandler = (error, _req, res, _next) => {
    if (clientProblem(error)) {
      // E.g. /support/notifications/%ED%A0%80: the router cannot decode the path.
      return send(res, 400, messagePage("That address cannot be read", "Check the link, or search again."));
    }
    if (isDatabaseUnavailable(error)) {
      res.set("Retry-After", "5");
      return send(res, 503, messagePage("Database unavailable", "PostgreSQL did not answer. Try again in a moment."));
    }
    logger.error({ err: error }, "support page failed");
    send(res, 500, messagePage("Something went wrong", "The page could not be built; the error is in the API's log."));
  };
  router.use(errors);

  return router;
}
