// The support search page: the latest sends, or those of a recipient, a Message-ID or an id, with
// the events parked under an unknown email id and the search's dead letters.
import type { Notification } from "@mailstate/db";
import { type Html, html } from "./html.ts";
import { type DeadLetterView, deadLettersSection, stateBadge, time } from "./support-fragments.ts";
import { layout, SUPPORT_PATH } from "./support-layout.ts";

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

function notificationHref(id: string): string {
  return `${SUPPORT_PATH}/notifications/${encodeURIComponent(id)}`;
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
