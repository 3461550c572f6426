// Verified webhooks that could not be applied. Whatever leaves the inbox unapplied is written here
// first; rows are never removed by age. The worker and the CLI write them; support and metrics read.
import type pg from "pg";

type Queryable = Pick<pg.Pool, "query"> | Pick<pg.PoolClient, "query">;

export const DEAD_LETTER_CAUSES = ["permanent_error", "retries_exhausted", "unreadable_payload"] as const;
export type DeadLetterCause = (typeof DEAD_LETTER_CAUSES)[number];

export interface NewDeadLetter {
  svixId: string;
  /** The verified body as received; stored as JSON text, which PostgreSQL always takes. */
  body: unknown;
  receivedAt: Date | null;
  cause: DeadLetterCause;
  error: string;
  errorCode: string | null;
  attempts: number;
}

export interface DeadLetterRow {
  svixId: string;
  body: string;
  eventType: string | null;
  emailId: string | null;
  receivedAt: Date | null;
  cause: DeadLetterCause;
  error: string;
  errorCode: string | null;
  attempts: number;
  firstFailedAt: Date;
  lastFailedAt: Date;
  resolvedAt: Date | null;
  resolution: string | null;
}

/** text refuses U+0000 too: the escape JSON.stringify writes for it is harmless, a raw one is not. */
const storable = (text: string) => text.replaceAll("\u0000", "\ufffd");

function field(body: unknown, ...path: string[]): string | null {
  let value: unknown = body;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return null;
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === "string" && value !== "" ? storable(value).slice(0, 500) : null;
}

const COLUMNS = `svix_id AS "svixId", body, event_type AS "eventType", email_id AS "emailId",
  received_at AS "receivedAt", cause, error, error_code AS "errorCode", attempts,
  first_failed_at AS "firstFailedAt", last_failed_at AS "lastFailedAt", resolved_at AS "resolvedAt", resolution`;

export const deadLetters = {
  /**
   * Record a failure. A svix-id dead-lettered before (a retry that failed again) keeps its first
   * failure time and counts the attempts; it is open again until a retry applies it.
   */
  async record(db: Queryable, letter: NewDeadLetter): Promise<void> {
    await db.query(
      `INSERT INTO dead_letters (svix_id, body, event_type, email_id, received_at, cause, error, error_code, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (svix_id) DO UPDATE SET
         cause = EXCLUDED.cause, error = EXCLUDED.error, error_code = EXCLUDED.error_code,
         attempts = dead_letters.attempts + EXCLUDED.attempts, last_failed_at = now(),
         resolved_at = NULL, resolution = NULL`,
      [
        storable(letter.svixId),
        storable(JSON.stringify(letter.body) ?? "null"),
        field(letter.body, "type"),
        field(letter.body, "data", "email_id"),
        letter.receivedAt,
        letter.cause,
        storable(letter.error).slice(0, 4_000),
        letter.errorCode,
        letter.attempts,
      ],
    );
  },

  /** Open dead letters (or all with `includeResolved`), oldest failure first. */
  async list(
    db: Queryable,
    { includeResolved = false, svixId, limit = 1_000 }: { includeResolved?: boolean; svixId?: string; limit?: number },
  ): Promise<DeadLetterRow[]> {
    const { rows } = await db.query<DeadLetterRow>(
      `SELECT ${COLUMNS} FROM dead_letters
        WHERE ($1::boolean OR resolved_at IS NULL) AND ($2::text IS NULL OR svix_id = $2)
        ORDER BY first_failed_at, svix_id LIMIT $3`,
      [includeResolved, svixId ?? null, limit],
    );
    return rows;
  },

  /** A retry applied it (`applied`, `unmatched`, …) or found it logged already (`duplicate`). */
  async resolve(db: Queryable, svixId: string, resolution: string): Promise<void> {
    await db.query("UPDATE dead_letters SET resolved_at = now(), resolution = $2 WHERE svix_id = $1", [
      svixId,
      resolution,
    ]);
  },

  async countOpen(db: Queryable): Promise<number> {
    const { rows } = await db.query<{ count: string }>(
      "SELECT count(*) AS count FROM dead_letters WHERE resolved_at IS NULL",
    );
    return Number(rows[0]?.count ?? 0);
  },
};
