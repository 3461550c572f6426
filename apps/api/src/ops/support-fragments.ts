// What both support pages show: delivery-state badges, times, trace links and the dead-letter table.
import type { DeliveryState } from "@mailstate/state-machine";
import { type Html, html } from "./html.ts";

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

export function stateBadge(state: DeliveryState): Html {
  return html`<span class="badge state-${state}">${STATE_LABELS[state]}</span>`;
}

export function time(date: Date | null): Html {
  if (!date) return html`<span class="muted">—</span>`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.replace("T", " ").replace("Z", " UTC")}</time>`;
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
export function traceLink(traceId: string | null, template: string | null | undefined): Html {
  if (!traceId) return html``;
  if (!template) return html`<span class="mono">${traceId}</span>`;
  return html`<a class="mono" href="${template.replaceAll("{traceId}", traceId)}">${traceId}</a>`;
}

/** Dead letters: events mailstate acknowledged but could not apply, with what to do about them. */
export function deadLettersSection(letters: DeadLetterView[], traceUrlTemplate: string | null | undefined): Html {
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
