// The webhook endpoint's delivery log: list its messages, read one, replay one.
import { fail } from "../resend-error.ts";
import type { Route } from "../router.ts";
import type { StandinState } from "../state.ts";
import { page } from "./page.ts";

export function webhookEventRoutes({ webhooks, webhookId }: StandinState): Route[] {
  /** The log of the endpoint the path names: only the stand-in's own, and only when it posts webhooks. */
  function logOf(params: Record<string, string>) {
    if (params.webhookId !== webhookId || !webhooks) throw fail(404, "not_found", "Webhook not found");
    return webhooks.log;
  }

  return [
    {
      name: "GET /webhooks/:webhookId/events",
      method: "GET",
      pattern: /^\/webhooks\/([^/]+)\/events\/?$/,
      keys: ["webhookId"],
      handler: ({ params, query }) => {
        // Newest first, as Resend lists them.
        const entries = [...logOf(params).values()].reverse().map((entry) => ({
          id: entry.id,
          type: entry.type,
          created_at: entry.createdAt,
          status: entry.status,
        }));
        return { status: 200, body: page(entries, query) };
      },
    },
    {
      name: "GET /webhooks/:webhookId/events/:eventId",
      method: "GET",
      pattern: /^\/webhooks\/([^/]+)\/events\/([^/]+)\/?$/,
      keys: ["webhookId", "eventId"],
      handler: ({ params }) => {
        const entry = logOf(params).get(params.eventId ?? "");
        if (!entry) throw fail(404, "not_found", "Webhook event not found");
        return {
          status: 200,
          body: {
            object: "webhook_event",
            id: entry.id,
            type: entry.type,
            created_at: entry.createdAt,
            status: entry.status,
            next_attempt_at: null,
            payload: JSON.parse(entry.body),
          },
        };
      },
    },
    {
      name: "POST /webhooks/:webhookId/events/:eventId/replay",
      method: "POST",
      pattern: /^\/webhooks\/([^/]+)\/events\/([^/]+)\/replay\/?$/,
      keys: ["webhookId", "eventId"],
      handler: ({ params }) => {
        logOf(params);
        if (!webhooks?.replay(params.eventId ?? "")) throw fail(404, "not_found", "Webhook event not found");
        return { status: 200, body: { object: "webhook_event", id: params.eventId } };
      },
    },
  ];
}
