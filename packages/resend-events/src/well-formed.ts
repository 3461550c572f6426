// A verified webhook may carry text PostgreSQL refuses to store: a lone UTF-16 surrogate (an emoji
// cut in half in a subject, `"Hi \ud83d"`) is valid JSON but not valid Unicode, and jsonb rejects
// it; U+0000 is valid JSON, and text and jsonb both reject it. Such text is cleaned (each lone
// surrogate and each U+0000 becomes U+FFFD) before the event is logged, so everything written from
// it (the log, engagement rows, suppression metadata) is stored and the event applied, not refused.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The string with every lone surrogate (`String.prototype.toWellFormed`) and U+0000 replaced by U+FFFD. */
export function wellFormedString(text: string): string {
  if (!text.includes("\u0000") && !LONE_SURROGATE.test(text)) return text;
  return (text as string & { toWellFormed(): string }).toWellFormed().replaceAll("\u0000", "\ufffd");
}

/**
 * A JSON value with every string (keys included) well-formed. Answers the value itself when nothing
 * needed cleaning, so the common case allocates nothing.
 */
export function wellFormedJson<T>(value: T): T {
  return clean(value) as T;
}

function clean(value: unknown): unknown {
  if (typeof value === "string") return wellFormedString(value);
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item) => {
      const cleaned = clean(item);
      if (cleaned !== item) changed = true;
      return cleaned;
    });
    return changed ? items : value;
  }
  if (typeof value === "object" && value !== null) {
    let changed = false;
    const entries = Object.entries(value).map(([key, item]): [string, unknown] => {
      const cleanKey = wellFormedString(key);
      const cleaned = clean(item);
      if (cleanKey !== key || cleaned !== item) changed = true;
      return [cleanKey, cleaned];
    });
    return changed ? Object.fromEntries(entries) : value;
  }
  return value;
}
