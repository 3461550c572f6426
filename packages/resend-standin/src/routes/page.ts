import { fail } from "../resend-error.ts";

/**
 * A page of a list, Resend's way: `limit` (1–100, default 20) items after the `after` id (the next
 * page, further down the list), or before the `before` id (the previous page, up the list); the
 * cursor itself is left out. `has_more`: there are items past the page in the direction it went.
 * A cursor that is no item of the list, or both at once, is a validation error: a client that
 * loses its place hears of it, rather than being served the list from the top again.
 */
export function page<T extends { id: string }>(items: T[], query: URLSearchParams) {
  const limit = Number(query.get("limit") ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw fail(422, "validation_error", "The `limit` parameter must be between 1 and 100.");
  const [after, before] = [query.get("after"), query.get("before")];
  if (after !== null && before !== null)
    throw fail(422, "validation_error", "Use either the `after` or the `before` parameter, not both.");
  const cursor = after ?? before;
  if (cursor === null) return { object: "list", has_more: limit < items.length, data: items.slice(0, limit) };
  const at = items.findIndex((item) => item.id === cursor);
  if (at < 0)
    throw fail(
      422,
      "validation_error",
      `The \`${after !== null ? "after" : "before"}\` parameter must be the id of an item of this list: ${cursor} is not.`,
    );
  if (after !== null)
    return { object: "list", has_more: at + 1 + limit < items.length, data: items.slice(at + 1, at + 1 + limit) };
  const start = Math.max(0, at - limit);
  return { object: "list", has_more: start > 0, data: items.slice(start, at) };
}
