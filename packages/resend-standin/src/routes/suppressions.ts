// The account's suppression list: list, add, look up and remove an address.
import { isAddress } from "../posted-email.ts";
import { fail } from "../resend-error.ts";
import type { Route } from "../router.ts";
import type { StandinState } from "../state.ts";
import { page } from "./page.ts";

export function suppressionRoutes({ suppressions }: StandinState): Route[] {
  return [
    {
      name: "GET /suppressions",
      method: "GET",
      pattern: /^\/suppressions\/?$/,
      keys: [],
      handler: ({ query }) => {
        const origin = query.get("origin");
        const entries = [...suppressions.entries.values()].filter((entry) => !origin || entry.origin === origin);
        return { status: 200, body: page(entries, query) };
      },
    },
    {
      name: "POST /suppressions",
      method: "POST",
      pattern: /^\/suppressions\/?$/,
      keys: [],
      handler: ({ body }) => {
        const email = typeof body === "object" && body !== null ? (body as Record<string, unknown>).email : undefined;
        if (typeof email !== "string" || !isAddress(email))
          throw fail(422, "validation_error", "Invalid `email` field.");
        const entry = suppressions.add(email, "manual", null);
        return { status: 200, body: { object: "suppression", id: entry.id } };
      },
    },
    {
      name: "GET /suppressions/:idOrEmail",
      method: "GET",
      pattern: /^\/suppressions\/([^/]+)\/?$/,
      keys: ["idOrEmail"],
      handler: ({ params }) => {
        const entry = suppressions.find(params.idOrEmail ?? "");
        if (!entry) throw fail(404, "not_found", "Suppression not found");
        return { status: 200, body: { object: "suppression", ...entry } };
      },
    },
    {
      name: "DELETE /suppressions/:idOrEmail",
      method: "DELETE",
      pattern: /^\/suppressions\/([^/]+)\/?$/,
      keys: ["idOrEmail"],
      handler: ({ params }) => {
        const entry = suppressions.remove(params.idOrEmail ?? "");
        if (!entry) throw fail(404, "not_found", "Suppression not found");
        return { status: 200, body: { object: "suppression", id: entry.id, deleted: true } };
      },
    },
  ];
}
