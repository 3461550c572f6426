// /support/reputation: each tenant's daily bounce and complaint rates over 30 days as server-rendered
// SVG charts with the senders' thresholds drawn as lines, the tenants closest to a threshold first.
// Every value goes through the `html` template, inside the SVG too; nothing runs in the browser.
import type { RollupCounts } from "@mailstate/db";
import { type Html, html, trusted } from "./html.ts";
import { layout, SUPPORT_PATH } from "./support-layout.ts";

const REPUTATION_PATH = `${SUPPORT_PATH}/reputation`;

export interface Threshold {
  rate: number;
  label: string;
  /** Where the figure comes from (docs/reputation.md cites the pages). */
  source: string;
  color: string;
}

/** The lines drawn on the charts. */
/** Resend's review lines: what "closest to a threshold" is measured against. */
const RESEND_BOUNCE_REVIEW = 0.04;
const RESEND_COMPLAINT_REVIEW = 0.0008;

export const THRESHOLDS = {
  bounce: [{ rate: RESEND_BOUNCE_REVIEW, label: "Resend review 4%", source: "Resend", color: "#cf222e" }],
  complaint: [
    { rate: RESEND_COMPLAINT_REVIEW, label: "Resend review 0.08%", source: "Resend", color: "#cf222e" },
    { rate: 0.003, label: "Gmail / Yahoo ceiling 0.3%", source: "Google, Yahoo", color: "#8250df" },
  ],
} satisfies Record<string, Threshold[]>;

interface DayPoint extends RollupCounts {
  at: Date;
}

export interface TenantReputation {
  /** '' for sends recorded without a tenant. */
  tenant: string;
  total: RollupCounts;
  days: DayPoint[];
}

const bounceRateOf = (c: RollupCounts) => (c.sent > 0 ? (c.hardBounced + c.softBounced) / c.sent : null);
const complaintRateOf = (c: RollupCounts) => (c.delivered > 0 ? c.complained / c.delivered : null);

/** How near the tenant is to its nearest threshold: the larger of rate / Resend's limit, for either rate. */
export function closeness(total: RollupCounts): number {
  const bounce = (bounceRateOf(total) ?? 0) / RESEND_BOUNCE_REVIEW;
  const complaint = (complaintRateOf(total) ?? 0) / RESEND_COMPLAINT_REVIEW;
  return Math.max(bounce, complaint);
}

function percent(rate: number | null): string {
  if (rate === null) return "—";
  const value = rate * 100;
  const digits = value === 0 ? 0 : value < 0.1 ? 3 : value < 1 ? 2 : 1;
  return `${value.toFixed(digits)}%`;
}

/** 0.001 → 0.1%, 0.05 → 5%: a tick's percentage without trailing zeros. */
const tickLabel = (rate: number) => `${Number((rate * 100).toPrecision(3))}%`;

const tenantName = (tenant: string) => tenant || "(no tenant)";

const W = 540;
const H = 210;
const M = { left: 56, right: 16, top: 14, bottom: 30 };
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;

const isoDay = (date: Date) => date.toISOString().slice(5, 10);

/** A scale a person reads at a glance: a top of whole steps of 1, 2 or 5 ×10^k, at most 5 of them, above `highest`. */
export function niceScale(highest: number): { top: number; step: number } {
  const rough = highest / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((factor) => factor * magnitude >= rough) ?? 10) * magnitude;
  return { top: Math.ceil(highest / step - 1e-9) * step, step };
}

/**
 * One line chart of a daily rate: days with no denominator are gaps. The scale reaches above the
 * highest threshold line and the highest point, so every line is always drawn.
 */
export function rateChart(
  title: string,
  days: Date[],
  rates: (number | null)[],
  thresholds: Threshold[],
  lineColor: string,
): Html {
  const { top, step } = niceScale(Math.max(...thresholds.map((t) => t.rate), ...rates.map((rate) => rate ?? 0)) * 1.1);
  const x = (index: number) => M.left + (days.length <= 1 ? 0 : (index * PLOT_W) / (days.length - 1));
  const y = (rate: number) => M.top + PLOT_H - (rate / top) * PLOT_H;
  const fixed = (value: number) => value.toFixed(1);
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, index) => index * step);
  const grid = ticks.map(
    (tick) =>
      html`<line x1="${M.left}" x2="${W - M.right}" y1="${fixed(y(tick))}" y2="${fixed(y(tick))}" stroke="#eaeef2"/>
<text x="${M.left - 6}" y="${fixed(y(tick) + 4)}" text-anchor="end" font-size="11" fill="#59636e">${tickLabel(tick)}</text>`,
  );
  const labelled = [0, Math.floor((days.length - 1) / 2), days.length - 1].filter(
    (index, position, all) => index >= 0 && all.indexOf(index) === position,
  );
  const xLabels = labelled.map((index) => {
    const day = days[index];
    return day
      ? html`<text x="${fixed(x(index))}" y="${H - 10}" text-anchor="middle" font-size="11" fill="#59636e">${isoDay(day)}</text>`
      : "";
  });
  const lines = thresholds.map(
    (
      t,
    ) => html`<line x1="${M.left}" x2="${W - M.right}" y1="${fixed(y(t.rate))}" y2="${fixed(y(t.rate))}" stroke="${t.color}" stroke-width="1.5" stroke-dasharray="6 4"/>
<text x="${W - M.right - 4}" y="${fixed(y(t.rate) - 5)}" text-anchor="end" font-size="11" font-weight="600" fill="${t.color}">${t.label}</text>`,
  );
  // Runs of consecutive days with a rate, each one polyline; a lone day is its dot alone.
  const runs: string[] = [];
  let run: string[] = [];
  rates.forEach((rate, index) => {
    if (rate === null) {
      if (run.length > 1) runs.push(run.join(" "));
      run = [];
      return;
    }
    run.push(`${fixed(x(index))},${fixed(y(rate))}`);
  });
  if (run.length > 1) runs.push(run.join(" "));
  const dots = rates.map((rate, index) =>
    rate === null
      ? ""
      : html`<circle cx="${fixed(x(index))}" cy="${fixed(y(rate))}" r="2.5" fill="${lineColor}"><title>${days[index] ? isoDay(days[index] as Date) : ""}: ${percent(rate)}</title></circle>`,
  );
  return html`<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${title}">
<title>${title}</title>
<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>
${grid}${xLabels}
<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + PLOT_H}" stroke="#d1d9e0"/>
${lines}
${runs.map((points) => html`<polyline points="${points}" fill="none" stroke="${lineColor}" stroke-width="2"/>`)}
${dots}
</svg>`;
}

const STYLE = trusted(`<style>
.rep-table td.num, .rep-table th.num { text-align: right; white-space: nowrap; }
.rep-tenant { margin: 26px 0 8px; padding-top: 14px; border-top: 1px solid #d1d9e0; }
.rep-tenant h2 { border: 0; margin: 0 0 6px; padding: 0; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; }
.charts figure { margin: 0; }
.charts figcaption { font-size: 13px; color: #59636e; margin-bottom: 4px; }
.near { color: #9a6700; font-weight: 600; }
</style>`);

function status(share: number): Html {
  if (share >= 1) return html`<span class="bad">over</span>`;
  if (share >= 0.5) return html`<span class="near">near</span>`;
  return html`<span class="ok">clear</span>`;
}

export interface ReputationView {
  days: Date[];
  /** Closest to a threshold first. */
  tenants: TenantReputation[];
  /** One tenant asked for (`?tenant=`), or null for all. */
  only: string | null;
  /** How many tenants are charted; the rest are in the table only. */
  charted: number;
}

export function reputationPage(view: ReputationView): Html {
  const table = view.tenants.length
    ? html`<table class="rep-table"><thead><tr><th>Tenant</th><th class="num">Sent</th><th class="num">Bounce rate</th><th class="num">Complaint rate</th><th class="num">Of Resend's nearest line</th><th></th></tr></thead><tbody>
${view.tenants.map((t) => {
  const share = closeness(t.total);
  const index = view.tenants.indexOf(t);
  const href =
    index < view.charted
      ? `#tenant-${index}`
      : t.tenant
        ? `${REPUTATION_PATH}?${new URLSearchParams({ tenant: t.tenant })}`
        : null;
  const name = href ? html`<a href="${href}">${tenantName(t.tenant)}</a>` : tenantName(t.tenant);
  return html`<tr><td>${name}</td><td class="num">${t.total.sent}</td><td class="num">${percent(bounceRateOf(t.total))}</td><td class="num">${percent(complaintRateOf(t.total))}</td><td class="num">${Math.round(share * 100)}%</td><td>${status(share)}</td></tr>`;
})}</tbody></table>`
    : html`<div class="empty"><strong>No sends in the last 30 days</strong>${view.only === null ? "" : html`for tenant ${view.only}`}</div>`;
  const charts = view.tenants.slice(0, view.charted).map((t, index) => {
    const bounce = t.days.map(bounceRateOf);
    const complaint = t.days.map(complaintRateOf);
    const name = tenantName(t.tenant);
    return html`<section class="rep-tenant" id="tenant-${index}">
<h2>${name}</h2>
<p class="muted">${t.total.sent} sent, ${t.total.hardBounced + t.total.softBounced} bounced (${t.total.hardBounced} hard), ${t.total.complained} complained of ${t.total.delivered} delivered.</p>
<div class="charts">
<figure><figcaption>Bounce rate per day (bounced / sent)</figcaption>${rateChart(`${name}: daily bounce rate`, view.days, bounce, THRESHOLDS.bounce, "#0b5fcc")}</figure>
<figure><figcaption>Complaint rate per day (complained / delivered)</figcaption>${rateChart(`${name}: daily complaint rate`, view.days, complaint, THRESHOLDS.complaint, "#bc4c00")}</figure>
</div>
</section>`;
  });
  const more =
    view.tenants.length > view.charted
      ? html`<p class="muted">${view.tenants.length - view.charted} more tenants are in the table only: follow a name to chart it.</p>`
      : "";
  const body = html`${STYLE}<p class="muted"><a href="${SUPPORT_PATH}">← Search</a></p>
<h1>Reputation${view.only === null ? "" : html`: ${tenantName(view.only)}`}</h1>
<p class="lead">Daily bounce and complaint rates of the last 30 days (UTC days, by when each send was recorded), with the lines that stop senders: Resend reviews accounts above about 4% bounces or 0.08% spam complaints; Gmail and Yahoo enforce 0.3% complaints for bulk senders. Tenants closest to a line come first.${view.only === null ? "" : html` <a href="${REPUTATION_PATH}">All tenants</a>`}</p>
${table}
${charts}
${more}`;
  return layout(view.only === null ? "Reputation" : `Reputation: ${tenantName(view.only)}`, body);
}
