import { describe, expect, it } from "vitest";
import {
  closeness,
  niceScale,
  rateChart,
  reputationPage,
  type TenantReputation,
  THRESHOLDS,
} from "./reputation-views.ts";

const days = Array.from({ length: 30 }, (_, i) => new Date(Date.UTC(2026, 10, 2 + i)));
const zero = { sent: 0, delivered: 0, hardBounced: 0, softBounced: 0, complained: 0 };

function tenant(name: string, complained: number): TenantReputation {
  const total = { sent: 1_000, delivered: 1_000, hardBounced: 0, softBounced: 0, complained };
  return { tenant: name, total, days: days.map((at) => ({ at, ...zero })) };
}

describe("the reputation page's pieces", () => {
  it("niceScale: a top of whole 1, 2 or 5 steps above the highest value (0.046 → 5% in 1% steps; 0.00345 → 0.4% in 0.1% steps)", () => {
    expect(niceScale(0.046)).toEqual({ top: expect.closeTo(0.05, 10), step: expect.closeTo(0.01, 10) });
    expect(niceScale(0.00345)).toEqual({ top: expect.closeTo(0.004, 10), step: expect.closeTo(0.001, 10) });
    expect(niceScale(0.0058)).toEqual({ top: expect.closeTo(0.006, 10), step: expect.closeTo(0.002, 10) });
  });

  it("closeness: the larger share of Resend's lines (0.04 bounces, 0.0008 complaints)", () => {
    expect(closeness({ sent: 100, delivered: 100, hardBounced: 2, softBounced: 0, complained: 0 })).toBeCloseTo(0.5);
    expect(closeness({ sent: 100, delivered: 1_000, hardBounced: 0, softBounced: 0, complained: 2 })).toBeCloseTo(2.5);
    expect(closeness(zero)).toBe(0);
  });

  it("a chart: one dot per day with a rate, a gap for a day without, every threshold line labelled", () => {
    const rates = days.map((_, i) => (i === 3 ? null : 0.001));
    const svg = rateChart("t: daily complaint rate", days, rates, THRESHOLDS.complaint, "#000").value;
    expect(svg.match(/<circle/g)).toHaveLength(29);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain("Resend review 0.08%");
    expect(svg).toContain("Gmail / Yahoo ceiling 0.3%");
  });

  it("14 tenants → 12 charted (24 charts); the other 2 listed, each linking to its own page; names escaped everywhere", () => {
    const tenants = Array.from({ length: 14 }, (_, i) => tenant(i === 13 ? "<b>x</b>" : `t${i}`, 14 - i));
    const page = reputationPage({ days, tenants, only: null, charted: 12 }).value;
    expect(page.match(/<svg class="chart"/g)).toHaveLength(24);
    expect(page).toContain('<a href="/support/reputation?tenant=t12">t12</a>');
    expect(page).toContain('<a href="/support/reputation?tenant=%3Cb%3Ex%3C%2Fb%3E">&lt;b&gt;x&lt;/b&gt;</a>');
    expect(page).not.toContain("<b>x</b>");
    expect(page).toContain("2 more tenants are in the table only");
  });
});
