import { createSqlPool } from "@mailstate/db";
import { freePort } from "@mailstate/test-support";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { registerReputationGauges, TOP_TENANTS, topTenants } from "./reputation-metrics.ts";

const row = (tenant: string, sent: number) => ({
  tenant,
  sent,
  delivered: sent,
  hardBounced: 1,
  softBounced: 0,
  complained: 1,
});

describe("the reputation gauges", () => {
  it(`${TOP_TENANTS + 2} tenants → the top ${TOP_TENANTS} by their own label, the other 2 summed as tenant="other"; sends without a tenant are tenant="none"`, () => {
    const rows = [row("", 1_000), ...Array.from({ length: TOP_TENANTS + 1 }, (_, i) => row(`t${i}`, 500 - i))];
    const top = topTenants(rows);
    expect(top).toHaveLength(TOP_TENANTS + 1);
    expect(top[0]?.tenant).toBe("none");
    expect(top.at(-1)).toEqual({
      tenant: "other",
      sent: 481 + 480,
      delivered: 961,
      hardBounced: 2,
      softBounced: 0,
      complained: 2,
    });
    expect(topTenants(rows.slice(0, 3))).toHaveLength(3);
  });

  it("PostgreSQL does not answer → mailstate_reputation_up 0, no rate samples and the parked gauges NaN (not stale or zero figures)", async () => {
    // A port nobody listens on: the pool's connect fails; the gauges must not hang the scrape.
    const sql = createSqlPool({
      databaseUrl: `postgresql://postgres@127.0.0.1:${await freePort()}/none`,
      onError: () => {},
    });
    const registry = new Registry();
    registerReputationGauges(registry, sql, { timeoutMs: 500 });
    const body = await registry.metrics();
    await sql.end();
    expect(body).toMatch(/^mailstate_reputation_up 0$/m);
    expect(body).not.toMatch(/^mailstate_reputation_bounce_rate\{/m);
    // prom-client writes NaN as "Nan", which Prometheus parses (Go's ParseFloat ignores the case).
    expect(body).toMatch(/^mailstate_parked_oldest_age_seconds nan$/im);
    expect(body).toMatch(/^mailstate_parked_events nan$/im);
  });
});
