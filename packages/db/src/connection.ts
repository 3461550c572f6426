// What every PostgreSQL connection of the apps is opened with, for the Prisma client and the
// worker's SQL pool alike: no statement, no idle transaction and no dead peer can hold a request,
// a job or a row lock for longer than these bounds.

export interface ConnectionLimits {
  /** Fail a query that waits this long for a free connection (ms). */
  connectionTimeoutMs?: number;
  /** Cancel a statement that runs longer (ms): the server cancels it, the client gives up 1 s later. */
  statementTimeoutMs?: number;
  /** Fail a statement that waits this long for a lock (ms), as behind a migration's; none when unset. */
  lockTimeoutMs?: number;
}

/** The node-postgres pool settings for these limits. */
export function connectionSettings({
  connectionTimeoutMs = 5_000,
  statementTimeoutMs = 15_000,
  lockTimeoutMs,
}: ConnectionLimits) {
  return {
    ...(lockTimeoutMs === undefined ? {} : { lock_timeout: lockTimeoutMs }),
    connectionTimeoutMillis: connectionTimeoutMs,
    statement_timeout: statementTimeoutMs,
    // A stalled network never answers, so the server's own timeout never reaches us.
    query_timeout: statementTimeoutMs + 1_000,
    // A process that died or stalled inside a transaction releases its locks within a minute.
    idle_in_transaction_session_timeout: 60_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}
