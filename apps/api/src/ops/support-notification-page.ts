// The support page of one notification: its facts, its recipients with their suppressions, its
// timeline (with the events parked before it and those that could not be read) and its dead letters.
import { type AuditEntry, type Notification, type Suppression, storedSendError } from "@mailstate/db";
import type { SuppressionScope } from "@mailstate/runtime";
import type { NotificationTimeline, TimelineItem } from "../timeline.ts";
import { resendCheckOf } from "../v1/serialize.ts";
import { type Html, html, isWebUrl } from "./html.ts";
import { type DeadLetterView, deadLettersSection, stateBadge, time, traceLink } from "./support-fragments.ts";
import { layout, SUPPORT_PATH } from "./support-layout.ts";

const REASON_LABELS: Record<Suppression["reason"], string> = {
  hard_bounce: "hard bounce",
  soft_bounce_threshold: "too many soft bounces in a row",
  complaint: "spam complaint",
  manual: "added by hand",
};

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

/** An element id for a timeline row, from a svix-id (which may hold any character). */
function eventAnchor(svixId: string): string {
  return `event-${svixId.replace(/[^A-Za-z0-9_-]/g, "_")}`;
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

interface RecipientView {
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
