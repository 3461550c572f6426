// Reads for the support pages that the other repositories do not answer in one query.

import type { DbClient } from "./client.ts";

export const support = {
  /** The current soft-bounce run of each of these addresses that has one (no row means zero). */
  softBounceCounts(db: DbClient, emails: string[]) {
    if (emails.length === 0) return Promise.resolve([]);
    return db.softBounceCounter.findMany({
      where: { email: { in: emails } },
      select: { email: true, count: true, lastBounceAt: true, lastEventId: true },
    });
  },
};
