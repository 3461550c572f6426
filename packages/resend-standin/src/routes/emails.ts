// The accepted emails, as Resend answers them: GET /emails, GET /emails/:id, and cancelling a
// scheduled one.
import type { EmailStore } from "../email-store.ts";
import { fail } from "../resend-error.ts";
import type { Route } from "../router.ts";
import type { StandinState } from "../state.ts";
import type { StoredEmail } from "../types.ts";
import { page } from "./page.ts";

export function emailRoutes({ emails }: StandinState): Route[] {
  return [
    {
      name: "GET /emails",
      method: "GET",
      pattern: /^\/emails\/?$/,
      keys: [],
      // Newest first, as Resend lists them; each without its body, as emails.list answers.
      handler: ({ query }) => {
        const newestFirst = [...emails.byId.values()]
          .map((email, order) => ({ email, order }))
          .sort((a, b) => b.email.createdAt.localeCompare(a.email.createdAt) || b.order - a.order)
          .map(({ email }) => {
            const { html: _html, text: _text, tags: _tags, object: _object, ...listed } = emailJson(email, emails);
            return listed;
          });
        return { status: 200, body: page(newestFirst, query) };
      },
    },
    {
      name: "POST /emails/:id/cancel",
      method: "POST",
      pattern: /^\/emails\/([^/]+)\/cancel\/?$/,
      keys: ["id"],
      handler: ({ params }) => {
        const email = emails.byId.get(params.id ?? "");
        if (!email) throw fail(404, "not_found", "Email not found");
        if (!email.scheduledAt || email.canceled || emails.isForced(email.id))
          throw fail(422, "validation_error", "Email cannot be canceled: it is not scheduled.");
        email.canceled = true;
        return { status: 200, body: { object: "email", id: email.id } };
      },
    },
    {
      name: "GET /emails/:id",
      method: "GET",
      pattern: /^\/emails\/([^/]+)\/?$/,
      keys: ["id"],
      handler: ({ params }) => {
        const email = emails.byId.get(params.id ?? "");
        if (!email) throw fail(404, "not_found", "Email not found");
        return { status: 200, body: emailJson(email, emails) };
      },
    },
  ];
}

/** An email as emails.get answers it. */
function emailJson(email: StoredEmail, emails: EmailStore) {
  return {
    object: "email",
    id: email.id,
    from: email.from,
    to: email.to,
    subject: email.subject,
    cc: email.cc.length > 0 ? email.cc : null,
    bcc: email.bcc.length > 0 ? email.bcc : null,
    html: email.html ?? null,
    text: email.text ?? null,
    created_at: email.createdAt,
    scheduled_at: email.scheduledAt ?? null,
    message_id: `<${email.id}@email.amazonses.com>`,
    reply_to: null,
    last_event: emails.lastEventOf(email),
    tags: email.tags,
  };
}
