import { fail } from "../resend-error.ts";

/** A page of a list, Resend's way: `limit` (1–100, default 20) items after the `after` id. */
export function page<T extends { id: string }>(items: T[], query: URLSearchParams) {
  const limit = Number(query.get("limit") ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw fail(422, "validation_error", "The `limit` parameter must be between 1 and 100.");
  const after = query.get("after");
  const start = after ? items.findIndex((item) => item.id === after) + 1 : 0;
  const data = items.slice(start, start + limit);
  return { object: "list", has_more: start + limit < items.length, data };
}
