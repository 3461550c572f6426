// The support pages as server-rendered HTML: layout, search results, a notification's page, errors.
// Every value goes through the `html` template, which escapes it; nothing runs in the browser.
import { type AuditEntry, type Notification, type Suppression, storedSendError } from "@mailstate/db";
import type { SuppressionScope } from "@mailstate/runtime";
import type { DeliveryState } from "@mailstate/state-machine";
import type { NotificationTimeline, TimelineItem } from "../timeline.ts";
import { resendCheckOf } from "../v1/serialize.ts";
import { type Html, html, isWebUrl, trusted } from "./html.ts";

export const SUPPORT_PATH = "/support";
export const BULL_BOARD_PATH = "/admin/queues";

const STYLE = trusted(`
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0b5fcc; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
a { color: var(--accent); }
header.top { background: #24292f; color: #fff; }
header.top .bar { max-width: 1180px; margin: 0 auto; padding: 10px 24px; display: flex; gap: 20px; align-items: center; flex-wrap: wrap; }
header.top a { color: #fff; text-decoration: none; }
header.top .brand { font-weight: 700; font-size: 17px; }
header.top nav { margin-left: auto; font-size: 14px; }
form.search { display: flex; gap: 8px; flex: 1 1 420px; max-width: 800px; }
form.search input.tenant { flex: 0 1 150px; }
form.search input { flex: 1; padding: 7px 10px; border-radius: 6px; border: 1px solid #57606a; font: inherit; }
form.search button { padding: 7px 14px; border-radius: 6px; border: 0; background: #2da44e; color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 24px; margin: 8px 0 4px; display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
p.lead, .muted { color: var(--muted); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th { text-align: left; font-weight: 600; color: var(--muted); background: var(--soft); }
th, td { padding: 8px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
tr.parked td { background: #fff8e5; }
td.time, td.nowrap { white-space: nowrap; }
table.timeline td.details { width: 34%; }
.svix { font-size: 12px; overflow-wrap: anywhere; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 6px 20px; margin: 16px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 13px; font-weight: 600; line-height: 20px; white-space: nowrap; border: 1px solid transparent; }
.state-recorded { background: #eaeef2; color: #424a53; border-color: #d0d7de; }
.state-scheduled, .state-sent { background: #ddf4ff; color: #0550ae; border-color: #b6e3ff; }
.state-delivery_delayed { background: #fff8c5; color: #7d4e00; border-color: #eac54f; }
.state-delivered { background: #dafbe1; color: #116329; border-color: #aceebb; }
.state-canceled { background: #eaeef2; color: #424a53; border-color: #d0d7de; text-decoration: line-through; }
.state-bounced, .state-complained, .state-failed, .state-suppressed { background: #ffebe9; color: #a40e26; border-color: #ffcecb; }
.tag { display: inline-block; padding: 0 7px; margin: 0 4px 4px 0; border-radius: 4px; background: var(--soft); border: 1px solid var(--line); font-size: 13px; }
.tag.parked { background: #fff1c2; border-color: #eac54f; color: #7d4e00; font-weight: 600; }
.tag.invalid { background: #ffebe9; border-color: #ffcecb; color: #a40e26; font-weight: 600; }
tr.invalid td { background: #fff5f5; }
.ok { color: #116329; font-weight: 600; }
.bad { color: #a40e26; font-weight: 600; }
.empty { padding: 28px; border: 1px dashed var(--line); border-radius: 8px; background: var(--soft); color: var(--muted); text-align: center; }
.empty strong { color: var(--ink); display: block; margin-bottom: 4px; font-size: 16px; }
.detail { margin: 0; padding: 0; list-style: none; }
.detail li { overflow-wrap: anywhere; }
.pager { margin-top: 14px; }
.notice { padding: 10px 14px; border-radius: 6px; background: #fff8e5; border: 1px solid #eac54f; margin: 14px 0; }
`);

const STATE_LABELS: Record<DeliveryState, string> = {
  recorded: "Recorded",
  scheduled: "Scheduled",
  sent: "Sent",
  delivery_delayed: "Delivery delayed",
  delivered: "Delivered",
  bounced: "Bounced",
  complained: "Complained",
  failed: "Failed",
  canceled: "Canceled before sending",
  suppressed: "Suppressed by Resend",
};

const REASON_LABELS: Record<Suppression["reason"], string> = {
  hard_bounce: "hard bounce",
  soft_bounce_threshold: "too many soft bounces in a row",
  complaint: "spam complaint",
  manual: "added by hand",
};

function stateBadge(state: DeliveryState): Html {
  return html`<span class="badge state-${state}">${STATE_LABELS[state]}</span>`;
}

function time(date: Date | null): Html {
  if (!date) return html`<span class="muted">—</span>`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.replace("T", " ").replace("Z", " UTC")}</time>`;
}

/** "+2.5 s", "+4 min", "+3 h": how long after the event it reached mailstate. */
function delay(from: Date, to: Date): string {
  const ms = to.getTime() - from.getTime();
  const sign = ms < 0 ? "−" : "+";
  const abs = Math.abs(ms);
  if (abs < 60_000) return `${sign}${(abs / 1_000).toFixed(1)} s`;
  if (abs < 3_600_000) return `${sign}${Math.round(abs / 60_000)} min`;
  if (abs < 172_800_000) return `${sign}${(abs / 3_600_000).toFixed(1)} h`;
  return `${sign}${Math.round(abs / 86_400_000)} d`;
}

export function notificationHref(id: string): string {
  return `${SUPPORT_PATH}/notifications/${encodeURIComponent(id)}`;
}

/** An element id for a timeline row, from a svix-id (which may hold any character). */
function eventAnchor(svixId: string): string {
  return `event-${svixId.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

export function layout(title: string, body: Html, query = "", tenant = ""): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · mailstate support</title>
<style>${STYLE}</style>
</head>
<body>
<header class="top"><div class="bar">
  <a class="brand" href="${SUPPORT_PATH}">mailstate support</a>
  <form class="search" method="get" action="${SUPPORT_PATH}" role="search">
    <input type="search" name="q" value="${query}" aria-label="Search" placeholder="Recipient address, Message-ID, notification id or Resend email id" autocomplete="off">
    <input class="tenant" type="search" name="tenant" value="${tenant}" aria-label="Tenant" placeholder="Tenant (all)" autocomplete="off">
    <button type="submit">Search</button>
  </form>
  <nav><a href="${SUPPORT_PATH}/reputation">Reputation</a> · <a href="${BULL_BOARD_PATH}">Queues (Bull Board)</a></nav>
</div></header>
<main>
${body}
</main>
</body>
</html>
`;
}

export interface SearchView {
  query: string;
  /** The one tenant the results are narrowed to; "" for every tenant. */
  tenant: string;
  /** How the query was read: nothing asked (latest sends), an address, a Message-ID, or an id. */
  matchedBy: "latest" | "recipient" | "messageId" | "id";
  results: Notification[];
  nextPageHref: string | null;
  /** For an id no notification carries: the events parked under it, waiting for the send's record. */
  parked?: { svixId: string; type: string; receivedAt: Date }[];
  /** Events of this search that could not be applied (`mailstate dead-letters`). */
  deadLetters?: DeadLetterView[];
  /** TRACE_URL_TEMPLATE: where a trace id links to. */
  traceUrlTemplate?: string | null;
}

export interface DeadLetterView {
  svixId: string;
  eventType: string | null;
  emailId: string | null;
  cause: string;
  error: string;
  errorCode: string | null;
  attempts: number;
  firstFailedAt: Date;
  resolvedAt: Date | null;
  resolution: string | null;
  /** The trace of the request that brought the event, when tracing was on and kept it. */
  traceId: string | null;
}

/** A trace id, linked to the tracing backend when TRACE_URL_TEMPLATE is set ({traceId} replaced). */
function traceLink(traceId: string | null, template: string | null | undefined): Html {
  if (!traceId) return html``;
  if (!template) return html`<span class="mono">${traceId}</span>`;
  return html`<a class="mono" href="${template.replaceAll("{traceId}", traceId)}">${traceId}</a>`;
}

/** Dead letters: events mailstate acknowledged but could not apply, with what to do about them. */
function deadLettersSection(letters: DeadLetterView[], traceUrlTemplate: string | null | undefined): Html {
  if (letters.length === 0) return html``;
  const open = letters.filter((letter) => letter.resolvedAt === null).length;
  return html`<h2 id="dead-letters">Dead letters</h2>
<div class="notice"><strong>${open === 1 ? "1 event" : `${open} events`} could not be applied.</strong>
Each is kept in full in the dead-letter table. Once the cause is fixed, run
<code>pnpm mailstate dead-letters retry &lt;svix-id&gt;</code> (or <code>--all</code>).</div>
<table class="results">
<thead><tr><th>Event</th><th>Why</th><th>Failed</th><th>svix-id</th></tr></thead>
<tbody>
${letters.map(
  (letter) => html`<tr>
  <td><strong>${letter.eventType ?? "(unreadable)"}</strong>${letter.emailId ? html`<br><span class="mono muted">${letter.emailId}</span>` : ""}</td>
  <td><span class="bad">${letter.cause}${letter.errorCode ? ` ${letter.errorCode}` : ""}</span>: ${letter.error}
  ${letter.resolvedAt ? html`<br><span class="ok">retried: ${letter.resolution}</span> <span class="muted">${time(letter.resolvedAt)}</span>` : ""}</td>
  <td class="time">${time(letter.firstFailedAt)} <span class="muted">(${letter.attempts} attempts)</span></td>
  <td class="mono">${letter.svixId}${letter.traceId ? html`<br><span class="muted">trace</span> ${traceLink(letter.traceId, traceUrlTemplate)}` : ""}</td>
</tr>
`,
)}</tbody>
</table>`;
}

/** Events the schema of their type rejected: logged, shown, never folded into the state. */
function invalidSection(invalid: NotificationTimeline["invalid"]): Html {
  if (invalid.length === 0) return html``;
  return html`<h2 id="invalid-events">Events mailstate could not read</h2>
<p class="notice"><span class="tag invalid">invalid</span> ${invalid.length === 1 ? "This event does" : "These events do"} not match
the schema of ${invalid.length === 1 ? "its" : "their"} type, so ${invalid.length === 1 ? "it does" : "they do"} not count towards the
state above. ${invalid.length === 1 ? "It is" : "They are"} kept as Resend sent ${invalid.length === 1 ? "it" : "them"}:
<code>pnpm mailstate reprocess --status invalid</code> applies them once a newer mailstate reads them.</p>
<table class="timeline invalid">
<thead><tr><th>Event</th><th>Happened</th><th>Received</th><th>What the schema said</th></tr></thead>
<tbody>
${invalid.map(
  (item) => html`<tr class="invalid">
  <td><strong>${item.type}</strong> <span class="tag invalid">invalid</span><br><span class="svix mono muted">${item.svixId}</span></td>
  <td class="time">${time(item.occurredAt)}</td>
  <td class="time">${time(item.receivedAt)}</td>
  <td class="mono">${item.problem}</td>
</tr>
`,
)}</tbody>
</table>`;
}

function parkedTable(parked: NonNullable<SearchView["parked"]>): Html {
  return html`<div class="notice"><strong>${parked.length === 1 ? "1 event is" : `${parked.length} events are`} parked under this Resend email id.</strong>
Resend reported on this email, but no notification carries its id yet: the send was not recorded, or its id was
never attached. The events apply at once when it is (PATCH the notification with the id, or record it), and are
retried for about 34 hours before they wait for a retry in Bull Board.</div>
<table class="results">
<thead><tr><th>Event</th><th>Received</th><th>svix-id</th></tr></thead>
<tbody>
${parked.map(
  (
    event,
  ) => html`<tr><td><strong>${event.type}</strong></td><td class="time">${time(event.receivedAt)}</td><td class="mono">${event.svixId}</td></tr>
`,
)}</tbody>
</table>`;
}

function resultsTable(results: Notification[]): Html {
  return html`<table class="results">
<thead><tr><th>State</th><th>Subject</th><th>Recipients</th><th>Tenant / category</th><th>Recorded</th><th>Resend email id</th></tr></thead>
<tbody>
${results.map(
  (row) => html`<tr>
  <td>${stateBadge(row.state)}</td>
  <td><a href="${notificationHref(row.id)}">${row.subject || "(no subject)"}</a></td>
  <td>${row.recipients.join(", ")}</td>
  <td>${row.tenant ?? html`<span class="muted">—</span>`}${row.category ? html` · ${row.category}` : ""}</td>
  <td class="time">${time(row.createdAt)}</td>
  <td class="mono">${row.resendEmailId ?? html`<span class="muted">not attached</span>`}</td>
</tr>
`,
)}</tbody>
</table>`;
}

export function searchPage(view: SearchView): Html {
  const { query, matchedBy, results, tenant } = view;
  const ofTenant = tenant ? html` of tenant <strong>${tenant}</strong>` : "";
  let heading: Html;
  if (matchedBy === "latest") {
    heading = html`<h1>Find a notification</h1>
<p class="lead">Search by a recipient's address, the Message-ID of the email's headers (with or without its angle
brackets), a notification id or a Resend email id; the box works out which.
Below are the latest notifications recorded${ofTenant}${tenant ? "" : ", of every tenant"}.</p>`;
  } else {
    const how = {
      recipient: "sent to this address",
      messageId: "with this Message-ID",
      id: "with this notification id or Resend email id",
    }[matchedBy];
    heading = html`<h1>Search: <span class="mono">${query}</span></h1>
<p class="lead">${results.length === 0 ? "No notification" : results.length === 1 ? "1 notification" : `${results.length}${view.nextPageHref ? "+" : ""} notifications`}${ofTenant} ${how}.</p>`;
  }
  let body: Html;
  if (results.length > 0) {
    body = html`${resultsTable(results)}${view.nextPageHref ? html`<p class="pager"><a href="${view.nextPageHref}">Older notifications →</a></p>` : ""}`;
  } else if (matchedBy === "latest") {
    body = html`<div class="empty"><strong>No notifications recorded yet.</strong>
Sends recorded through the SDK or <code>POST /v1/notifications</code> appear here.</div>`;
  } else if (view.parked && view.parked.length > 0) {
    body = parkedTable(view.parked);
  } else if (view.deadLetters && view.deadLetters.length > 0) {
    body = html``;
  } else {
    body = html`<div class="empty"><strong>Nothing matches “${query}”.</strong>
Check the spelling: addresses match exactly (case does not matter); ids and Message-IDs must be whole.
A send recorded without its Resend email id can be found by recipient.</div>`;
  }
  return layout(
    matchedBy === "latest" ? "Search" : `Search: ${query}`,
    html`${heading}${body}${deadLettersSection(view.deadLetters ?? [], view.traceUrlTemplate)}`,
    query,
    tenant,
  );
}

export interface RecipientView {
  email: string;
  suppression: Suppression | null;
  softBounces: { count: number; lastBounceAt: Date | null } | null;
  /** Manual additions and removals of the address (audit log), newest first. */
  changes: AuditEntry[];
}

export interface NotificationView {
  timeline: NotificationTimeline;
  recipients: RecipientView[];
  /** SUPPRESSION_SCOPE: in tenant scope, each suppression says whose list it is on. */
  scope: SuppressionScope;
  /** Events of its Resend email id that could not be applied. */
  deadLetters: DeadLetterView[];
  /** TRACE_URL_TEMPLATE: where a trace id links to. */
  traceUrlTemplate?: string | null;
}

function tags(record: unknown): Html {
  const entries =
    typeof record === "object" && record !== null && !Array.isArray(record)
      ? Object.entries(record).filter((entry): entry is [string, string] => typeof entry[1] === "string")
      : [];
  if (entries.length === 0) return html`<span class="muted">none</span>`;
  return html`${entries.map(([name, value]) => html`<span class="tag">${name}: ${value}</span>`)}`;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

function field(source: unknown, name: string): unknown {
  return typeof source === "object" && source !== null ? (source as Record<string, unknown>)[name] : undefined;
}

function details(item: TimelineItem, allRecipients: ReadonlySet<string>, traceUrlTemplate?: string | null): Html {
  const lines: Html[] = [];
  const link = item.engagement?.link;
  if (link) {
    lines.push(
      isWebUrl(link)
        ? html`<li>Link: <a href="${link}" rel="noopener noreferrer nofollow" target="_blank">${link}</a></li>`
        : html`<li>Link: <span class="mono">${link}</span></li>`,
    );
  }
  if (item.engagement?.ipAddress) lines.push(html`<li>IP: <span class="mono">${item.engagement.ipAddress}</span></li>`);
  if (item.engagement?.userAgent) lines.push(html`<li class="muted">${item.engagement.userAgent}</li>`);
  const bounce = item.detail?.bounce;
  if (bounce !== undefined) {
    const kind = [text(field(bounce, "type")), text(field(bounce, "subType"))].filter(Boolean).join(" / ");
    lines.push(html`<li>Bounce${kind ? html`: <strong>${kind}</strong>` : ""}</li>`);
    const message = text(field(bounce, "message"));
    if (message) lines.push(html`<li>${message}</li>`);
  }
  const failed = item.detail?.failed;
  if (failed !== undefined)
    lines.push(html`<li>Failed: ${text(field(failed, "reason")) ?? JSON.stringify(failed)}</li>`);
  const suppressed = item.detail?.suppressed;
  if (suppressed !== undefined) {
    lines.push(
      html`<li>Resend suppressed it: ${text(field(suppressed, "message")) ?? JSON.stringify(suppressed)}</li>`,
    );
  }
  if (item.detail?.complaint !== undefined) lines.push(html`<li>${JSON.stringify(item.detail.complaint)}</li>`);
  if (item.source === "api")
    lines.push(html`<li class="muted">Learned from Resend's API (emails.get), at the time it asked</li>`);
  if (item.traceId) lines.push(html`<li class="muted">Trace: ${traceLink(item.traceId, traceUrlTemplate)}</li>`);
  // Only worth a line when the event is about some of the recipients, not all of them.
  if (item.recipients.length > 0 && item.recipients.length < allRecipients.size) {
    lines.push(html`<li class="muted">To: ${item.recipients.join(", ")}</li>`);
  }
  return html`<ul class="detail">${lines}</ul>`;
}

function timelineTable(view: NotificationView): Html {
  const { notification, items } = view.timeline;
  if (items.length === 0) {
    return html`<div class="empty"><strong>No events yet.</strong>${
      notification.resendEmailId
        ? "The send is recorded; Resend has not reported anything about it yet."
        : "No Resend email id is attached yet, so no webhook can match this notification."
    }</div>`;
  }
  const allRecipients = new Set(notification.recipients);
  const parkedCount = items.filter((item) => item.replayedAt).length;
  return html`${
    parkedCount > 0
      ? html`<p class="notice">${parkedCount === 1 ? "1 event" : `${parkedCount} events`} arrived before this notification carried
Resend's email id: ${parkedCount === 1 ? "it was" : "they were"} parked in the unmatched queue and applied once the id was recorded.</p>`
      : ""
  }
<table class="timeline">
<thead><tr><th>Event time</th><th>Received</th><th>Event</th><th>State after</th><th>Details</th></tr></thead>
<tbody>
${items.map((item) => {
  return html`<tr id="${eventAnchor(item.svixId)}" class="${item.replayedAt ? "parked" : ""}">
  <td class="time">${time(item.occurredAt)}</td>
  <td class="time">${time(item.receivedAt)}<br><span class="muted">${delay(item.occurredAt, item.receivedAt)}</span>${
    item.replayedAt
      ? html`<br><span class="tag parked">parked, then replayed</span> <span class="muted">${delay(item.receivedAt, item.replayedAt)} later</span>`
      : ""
  }</td>
  <td><strong>${item.type}</strong><br><span class="muted mono svix" title="svix-id">${item.svixId}</span></td>
  <td>${stateBadge(item.stateAfter)}${item.moved ? "" : html`<br><span class="muted">${item.kind === "engagement" ? "engagement: state unchanged" : "no change"}</span>`}</td>
  <td class="details">${details(item, allRecipients, view.traceUrlTemplate)}</td>
</tr>
`;
})}</tbody>
</table>`;
}

/** Who added or removed the address by hand, and when (the audit log). */
function changesList(changes: AuditEntry[], scope: SuppressionScope): Html | string {
  if (changes.length === 0) return "";
  return html`<ul class="detail changes">${changes.map(
    (change) =>
      html`<li class="muted">${change.action === "suppression.removed" ? "removed" : "added"} by <strong>${change.actor}</strong>
${scope === "tenant" ? html` (${change.tenant === null ? "every tenant's list" : html`list of ${change.tenant}`})` : ""} ${time(change.at)}</li>`,
  )}</ul>`;
}

function recipientsTable(view: NotificationView): Html {
  const inTimeline = new Set(view.timeline.items.map((item) => item.svixId));
  return html`<table class="recipients">
<thead><tr><th>Recipient</th><th>Suppressed?</th><th>Why</th><th>Source event</th><th>Since</th><th>Soft bounces in a row</th></tr></thead>
<tbody>
${view.recipients.map(({ email, suppression, softBounces, changes }) => {
  const source = suppression?.sourceEventId;
  const note = text(field(suppression?.metadata, "note"));
  const list =
    suppression && view.scope === "tenant"
      ? html`<br><span class="muted">${suppression.tenant === null ? "every tenant's list" : html`list of ${suppression.tenant}`}</span>`
      : "";
  return html`<tr>
  <td><a href="${SUPPORT_PATH}?q=${encodeURIComponent(email)}">${email}</a></td>
  <td class="nowrap">${suppression ? html`<span class="bad">Suppressed</span>${list}` : html`<span class="ok">No</span>`}</td>
  <td>${suppression ? REASON_LABELS[suppression.reason] : html`<span class="muted">—</span>`}${note ? html`<br><span class="muted">${note}</span>` : ""}${changesList(changes, view.scope)}</td>
  <td class="mono svix">${
    source
      ? inTimeline.has(source)
        ? html`<a href="#${eventAnchor(source)}">${source}</a>`
        : source
      : html`<span class="muted">${suppression ? "none (by hand)" : "—"}</span>`
  }</td>
  <td class="time">${suppression ? time(suppression.createdAt) : html`<span class="muted">—</span>`}</td>
  <td>${softBounces?.count ?? 0}${softBounces?.lastBounceAt ? html`<br><span class="muted">last ${time(softBounces.lastBounceAt)}</span>` : ""}</td>
</tr>
`;
})}</tbody>
</table>`;
}

/** Opens and clicks come one page at a time; say so when there are more than the page shows. */
function engagementNote(view: NotificationView): Html | string {
  const { items, engagementTotal, nextEngagementCursor, notification } = view.timeline;
  if (!nextEngagementCursor) return "";
  const shown = items.filter((item) => item.kind === "engagement").length;
  return html`<p class="notice">Every delivery event is shown, with the first ${shown} of ${engagementTotal} opens and clicks
in event time. The rest: <code>GET /v1/notifications/${notification.id}/timeline?engagementCursor=…</code>.</p>`;
}

/** What the sweeper last learned from Resend's API about it (emails.get), when it asked. */
function resendCheckFact(row: Notification): Html | string {
  const check = resendCheckOf(row).resendCheck;
  if (!check) return "";
  const said =
    check.outcome === "not_found"
      ? html`<span class="bad">Resend does not know this email (404)</span>`
      : html`last_event <strong>${check.lastEvent ?? "?"}</strong>${check.appended ? html`: appended ${check.appended}` : ": nothing to add"}`;
  return html`<dt>Asked Resend</dt><dd>${said} <span class="muted">${time(new Date(check.at))}</span></dd>`;
}

export function notificationPage(view: NotificationView): Html {
  const { notification: row, state } = view.timeline;
  const refused = storedSendError(row);
  const body = html`<p class="muted"><a href="${SUPPORT_PATH}">← Search</a></p>
<h1>${row.subject || "(no subject)"} ${stateBadge(state)}</h1>
<dl class="facts">
  <dt>Notification id</dt><dd class="mono">${row.id}</dd>
  <dt>Resend email id</dt><dd class="mono">${row.resendEmailId ?? html`<span class="muted">${refused ? "none: Resend refused the send" : "not attached yet"}</span>`}</dd>
  ${refused ? html`<dt>Send</dt><dd><span class="bad">refused by Resend</span> ${refused.name}${refused.statusCode ? ` (${refused.statusCode})` : ""}: ${refused.message} <span class="muted">reported ${time(new Date(refused.at))}</span></dd>` : ""}
  ${row.messageId ? html`<dt>Message-ID</dt><dd class="mono">${row.messageId}</dd>` : ""}
  <dt>From</dt><dd>${row.from}</dd>
  <dt>To</dt><dd>${row.recipients.join(", ")}</dd>
  <dt>Tenant</dt><dd>${row.tenant ?? html`<span class="muted">—</span>`} <a class="reputation" href="${SUPPORT_PATH}/reputation${row.tenant ? `?${new URLSearchParams({ tenant: row.tenant })}` : ""}">${row.tenant ? "the tenant's bounce and complaint rates" : "bounce and complaint rates"}</a></dd>
  <dt>Category</dt><dd>${row.category ?? html`<span class="muted">—</span>`}</dd>
  <dt>Tags</dt><dd>${tags(row.tags)}</dd>
  <dt>Recorded</dt><dd>${time(row.createdAt)}</dd>
  <dt>State since</dt><dd>${time(row.stateChangedAt)}${row.stateEventType ? html` <span class="muted">(${row.stateEventType})</span>` : ""}</dd>
  <dt>Opens / clicks</dt><dd>${row.openCount} / ${row.clickCount}</dd>
  ${row.suppressionBypassed ? html`<dt>Suppression</dt><dd><span class="bad">bypassed by the sender</span> (password reset, verification…)</dd>` : ""}
  ${row.idempotencyKey ? html`<dt>Idempotency key</dt><dd class="mono">${row.idempotencyKey}</dd>` : ""}
  ${resendCheckFact(row)}
</dl>
<h2>Recipients</h2>
${recipientsTable(view)}
<h2>Timeline</h2>
<p class="muted">In event time (when Resend says it happened). “Received” is when mailstate received it (its API verified the webhook).</p>
${engagementNote(view)}${timelineTable(view)}
${invalidSection(view.timeline.invalid)}
${deadLettersSection(view.deadLetters, view.traceUrlTemplate)}`;
  return layout(row.subject || "Notification", body);
}

export function messagePage(title: string, message: Html | string): Html {
  return layout(
    title,
    html`<h1>${title}</h1><div class="empty">${message}<br><br><a href="${SUPPORT_PATH}">Back to search</a></div>`,
  );
}

/** The ops pages without the layout's links, for when they are switched off. */
export function bareMessagePage(title: string, message: string): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title><style>${STYLE}</style></head>
<body><main><h1>${title}</h1><div class="empty">${message}</div></main></body></html>
`;
}
