// GET /v1/reputation: bounce and complaint rates of the notifications recorded in a window, from
// the hourly rollups the worker keeps (reputation_hourly), with the points to draw them.
import { type Bucket, type ReputationPoint, type RollupCounts, reputation, type SqlRunner } from "@mailstate/db";
import { Router } from "express";
import { actingTenant, principalOf } from "./principal.ts";
import { type ReputationJson, type ReputationWindow, reputationQuery } from "./schemas/reputation.ts";
import { parseRequest } from "./validate.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Each window's points: how many, and how long each is. */
const WINDOWS: Record<ReputationWindow, { bucket: Bucket; points: number; ms: number }> = {
  "24h": { bucket: "hour", points: 24, ms: HOUR_MS },
  "7d": { bucket: "day", points: 7, ms: DAY_MS },
  "30d": { bucket: "day", points: 30, ms: DAY_MS },
};

/** The start of the first point of the window that ends with the point holding `now` (UTC). */
export function windowStart(window: ReputationWindow, now: Date): Date {
  const { points, ms } = WINDOWS[window];
  const current = Math.floor(now.getTime() / ms) * ms;
  return new Date(current - (points - 1) * ms);
}

const ratio = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

function withRates(counts: RollupCounts) {
  const bounced = counts.hardBounced + counts.softBounced;
  return {
    sent: counts.sent,
    delivered: counts.delivered,
    bounced,
    hardBounced: counts.hardBounced,
    softBounced: counts.softBounced,
    complained: counts.complained,
    bounceRate: ratio(bounced, counts.sent),
    complaintRate: ratio(counts.complained, counts.delivered),
  };
}

const ZERO: RollupCounts = { sent: 0, delivered: 0, hardBounced: 0, softBounced: 0, complained: 0 };

function add(a: RollupCounts, b: RollupCounts): RollupCounts {
  return {
    sent: a.sent + b.sent,
    delivered: a.delivered + b.delivered,
    hardBounced: a.hardBounced + b.hardBounced,
    softBounced: a.softBounced + b.softBounced,
    complained: a.complained + b.complained,
  };
}

/** Every point of the window, the empty ones as zeros. */
export function fillSeries(
  window: ReputationWindow,
  since: Date,
  points: ReputationPoint[],
): (RollupCounts & { at: Date })[] {
  const { points: count, ms } = WINDOWS[window];
  const byTime = new Map(points.map((point) => [point.at.getTime(), point]));
  return Array.from({ length: count }, (_, index) => {
    const at = new Date(since.getTime() + index * ms);
    return { ...(byTime.get(at.getTime()) ?? ZERO), at };
  });
}

interface ReputationQuery {
  window: ReputationWindow;
  /** undefined: every tenant; '' the notifications of no tenant. */
  tenant?: string;
  category?: string;
  fromDomain?: string;
}

/** The answer of GET /v1/reputation, for the support page too. */
async function loadReputation(sql: SqlRunner, query: ReputationQuery, now = new Date()): Promise<ReputationJson> {
  const since = windowStart(query.window, now);
  const points = await reputation.series(
    sql,
    { tenant: query.tenant, category: query.category, fromDomain: query.fromDomain, since },
    WINDOWS[query.window].bucket,
  );
  const series = fillSeries(query.window, since, points);
  const total = series.reduce<RollupCounts>(add, ZERO);
  return {
    window: query.window,
    tenant: query.tenant ?? null,
    category: query.category ?? null,
    fromDomain: query.fromDomain ?? null,
    since: since.toISOString(),
    ...withRates(total),
    series: series.map((point) => ({ at: point.at.toISOString(), ...withRates(point) })),
  };
}

export function reputationRoutes({ sql }: { sql: SqlRunner }): Router {
  const router = Router();
  router.get("/reputation", async (req, res) => {
    const query = parseRequest(reputationQuery, req.query, "query");
    const tenant = actingTenant(principalOf(res), query.tenant) ?? undefined;
    res.json(await loadReputation(sql, { ...query, tenant }));
  });
  return router;
}
