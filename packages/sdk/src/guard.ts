// The reputation guard of `send`/`sendBatch`: before a send, the bounce and complaint rates of its
// tenant and category (GET /v1/reputation), cached a minute; over a limit, the send is refused with a
// typed result. mailstate unreachable: the send goes on with a warning, unless `strict`.
import { MailstateError } from "./errors.ts";
import type { Reputation, ReputationWindow } from "./types.ts";

export interface GuardOptions {
  /** Refuse when complained / delivered is above this fraction (Resend reviews accounts near 0.0008). */
  maxComplaintRate?: number;
  /** Refuse when bounced / sent is above this fraction (Resend reviews accounts near 0.04). */
  maxBounceRate?: number;
  /** The window the rates are read over; default 24h. */
  window?: ReputationWindow;
  /** Judge no rate until this many sends are in the window (default 0: from the first). */
  minSent?: number;
  /** mailstate unreachable (or answering an error): true refuses (`reputation_unavailable`), false (default) sends. */
  strict?: boolean;
  /** How long one tenant and category's rates are reused; default 60000 ms. */
  cacheMs?: number;
  /** The clock, in ms (tests move it); default Date.now. */
  now?: () => number;
}

export type RefusalReason = "complaint_rate" | "bounce_rate" | "reputation_unavailable";

/** A send the guard refused: nothing was recorded or sent. */
export interface GuardRefusal {
  status: "refused";
  notificationId: null;
  reason: RefusalReason;
  /** The rate over its limit; null for reputation_unavailable. */
  rate: number | null;
  limit: number | null;
  /** The tenant and category judged (null: not named, the key's own tenant or every category). */
  tenant: string | null;
  category: string | null;
  window: ReputationWindow;
  /** For reputation_unavailable: why mailstate could not say. */
  error?: MailstateError;
}

export const GUARD_CACHE_MS = 60_000;

export interface Guard {
  /** The refusal for a send of this tenant and category, or null to go on; `warnings` gets what failed open. */
  check(
    tenant: string | undefined,
    category: string | undefined,
    warnings: MailstateError[],
    strict?: boolean,
  ): Promise<GuardRefusal | null>;
}

type Fetch = (query: { tenant?: string; category?: string; window: ReputationWindow }) => Promise<Reputation>;

function asMailstateError(error: unknown): MailstateError {
  if (error instanceof MailstateError) return error;
  return new MailstateError("internal", error instanceof Error ? error.message : String(error), { cause: error });
}

export function createGuard(fetchReputation: Fetch, options: GuardOptions): Guard {
  const window = options.window ?? "24h";
  const cacheMs = options.cacheMs ?? GUARD_CACHE_MS;
  const now = options.now ?? Date.now;
  // Answers are cached with the time they were asked at; a failure is not cached (the next send asks again).
  const cache = new Map<string, { at: number; pending: Promise<Reputation> }>();

  const read = (tenant: string | undefined, category: string | undefined): Promise<Reputation> => {
    const key = JSON.stringify([tenant ?? null, category ?? null]);
    const cached = cache.get(key);
    if (cached && now() - cached.at < cacheMs) return cached.pending;
    const pending = fetchReputation({
      ...(tenant === undefined ? {} : { tenant }),
      ...(category === undefined ? {} : { category }),
      window,
    });
    cache.set(key, { at: now(), pending });
    pending.catch(() => {
      if (cache.get(key)?.pending === pending) cache.delete(key);
    });
    return pending;
  };

  return {
    async check(tenant, category, warnings, strict = false) {
      const judged = { tenant: tenant ?? null, category: category ?? null, window };
      let figures: Reputation;
      try {
        figures = await read(tenant, category);
      } catch (error) {
        const failure = asMailstateError(error);
        if (options.strict || strict) {
          return {
            status: "refused",
            notificationId: null,
            reason: "reputation_unavailable",
            rate: null,
            limit: null,
            ...judged,
            error: failure,
          };
        }
        warnings.push(failure);
        return null;
      }
      if (figures.sent < (options.minSent ?? 0)) return null;
      const over = (rate: number | null, limit: number | undefined) =>
        limit !== undefined && rate !== null && rate > limit;
      if (over(figures.complaintRate, options.maxComplaintRate)) {
        const limit = options.maxComplaintRate ?? null;
        return {
          status: "refused",
          notificationId: null,
          reason: "complaint_rate",
          rate: figures.complaintRate,
          limit,
          ...judged,
        };
      }
      if (over(figures.bounceRate, options.maxBounceRate)) {
        const limit = options.maxBounceRate ?? null;
        return {
          status: "refused",
          notificationId: null,
          reason: "bounce_rate",
          rate: figures.bounceRate,
          limit,
          ...judged,
        };
      }
      return null;
    },
  };
}
