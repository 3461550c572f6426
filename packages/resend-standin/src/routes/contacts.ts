// An audience's contacts: PATCH one (its `unsubscribed` flag).
import { fail } from "../resend-error.ts";
import type { Route } from "../router.ts";
import type { StandinState } from "../state.ts";

export function contactRoutes({ contacts }: StandinState): Route[] {
  return [
    {
      name: "PATCH /audiences/:audienceId/contacts/:idOrEmail",
      method: "PATCH",
      pattern: /^\/audiences\/([^/]+)\/contacts\/([^/]+)\/?$/,
      keys: ["audienceId", "idOrEmail"],
      handler: ({ body, params }) => {
        const contact = contacts.find(params.audienceId ?? "", params.idOrEmail ?? "");
        if (!contact) throw fail(404, "not_found", "Contact not found");
        const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
        if (typeof fields.unsubscribed === "boolean") contact.unsubscribed = fields.unsubscribed;
        return { status: 200, body: { object: "contact", id: contact.id } };
      },
    },
  ];
}
