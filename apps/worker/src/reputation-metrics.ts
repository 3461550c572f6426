// Gauges read from PostgreSQL at scrape time: each tenant's bounce and complaint rates over the last
// 24 hours (from the reputation rollups), and the parked backlog's age. Top tenants by sends get a
// label of their own, the rest share tenant="other", so the label's cardinality stays bounded.
import { events, type RollupCounts, reputation, type SqlPool } from "@mailstate/db";
import { sharedReading } from "@mailstate/runtime";
import { Gauge, type Registry } from "prom-client";

/** Tenants with a label of their own; the others are summed into tenant="other". */
export const TOP_TENANTS = 20;
/** The label of sends recorded without a tenant. */
const NO_TENANT_LABEL = "none";
const WINDOW_MS = 24 * 3_600_000;

type TenantCounts = RollupCounts & { tenant: string };

/** The top `top` tenants by sends, then one "other" row summing the rest (when there is a rest). */
export function topTenants(rows: TenantCounts[], top = TOP_TENANTS): TenantCounts[] {
  const named = rows.slice(0, top).map((row) => ({ ...row, tenant: row.tenant || NO_TENANT_LABEL }));
  const rest = rows.slice(top);
  if (rest.length === 0) return named;
  const other = rest.reduce<TenantCounts>(
    (sum, row) => ({
      tenant: "other",
      sent: sum.sent + row.sent,
      delivered: sum.delivered + row.delivered,
      hardBounced: sum.hardBounced + row.hardBounced,
      softBounced: sum.softBounced + row.softBounced,
      complained: sum.complained + row.complained,
    }),
    { tenant: "other", sent: 0, delivered: 0, hardBounced: 0, softBounced: 0, complained: 0 },
  );
  return [...named, other];
}

interface Reading {
  tenants: TenantCounts[];
  parked: { count: number; oldestAgeSeconds: number };
}

/**
 * Register the gauges on the worker's registry. A scrape reads PostgreSQL once for all of them,
 * within `timeoutMs`; when it does not answer the per-tenant ones are absent and the parked ones
 * NaN (stale figures would read as fine), and mailstate_reputation_up is 0.
 */
export function registerReputationGauges(
  registry: Registry,
  sql: SqlPool,
  { timeoutMs = 1_000, top = TOP_TENANTS, now = () => Date.now() } = {},
): void {
  const read = sharedReading<Reading>(
    async () => {
      const since = new Date(Math.floor((now() - WINDOW_MS) / 3_600_000 + 1) * 3_600_000);
      const [rows, parked] = await Promise.all([reputation.byTenant(sql, since), events.parkedBacklog(sql)]);
      return { tenants: topTenants(rows, top), parked };
    },
    timeoutMs,
    "reading reputation rollups",
  );
  const registers = [registry];
  new Gauge({
    name: "mailstate_reputation_up",
    help: "1 when the reputation rollups could be read from PostgreSQL at this scrape, else 0",
    registers,
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  });
  const perTenant = (name: string, help: string, value: (row: TenantCounts) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ["tenant"] as const,
      registers,
      async collect() {
        this.reset();
        for (const row of (await read())?.tenants ?? []) {
          const figure = value(row);
          if (figure !== null) this.set({ tenant: row.tenant }, figure);
        }
      },
    });
  perTenant(
    "mailstate_reputation_sent",
    `Notifications sent in the last 24 hours (by recording hour), top ${top} tenants by sends and tenant="other"`,
    (row) => row.sent,
  );
  perTenant(
    "mailstate_reputation_delivered",
    "Notifications delivered, of those sent in the last 24 hours",
    (row) => row.delivered,
  );
  perTenant(
    "mailstate_reputation_bounce_rate",
    "Bounced / sent over the last 24 hours (hard and soft bounces, each notification once); absent with no sends",
    (row) => (row.sent > 0 ? (row.hardBounced + row.softBounced) / row.sent : null),
  );
  perTenant(
    "mailstate_reputation_complaint_rate",
    "Complained / delivered over the last 24 hours; absent with no deliveries",
    (row) => (row.delivered > 0 ? row.complained / row.delivered : null),
  );
  const parked = (name: string, help: string, pick: (value: Reading["parked"]) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        // A gauge without labels always shows a value: NaN says "unknown" (every comparison is false).
        const value = await read();
        this.set(value ? pick(value.parked) : Number.NaN);
      },
    });
  parked(
    "mailstate_parked_events",
    "Events logged unmatched (parked): their send is not recorded yet, or never will be",
    (value) => value.count,
  );
  parked(
    "mailstate_parked_oldest_age_seconds",
    "Seconds since the oldest parked (unmatched) event arrived; 0 when none",
    (value) => value.oldestAgeSeconds,
  );
}
