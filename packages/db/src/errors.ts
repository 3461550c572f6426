// Tells "PostgreSQL cannot be reached right now" apart from every other database error, so HTTP can
// answer 503 and the ops CLI exit 69. The one place this is decided.
import { Prisma } from "../generated/client/index.js";

/** Prisma's codes for a server that is down, unreachable, refusing us, or out of connections. */
const UNAVAILABLE_CODES = new Set(["P1001", "P1002", "P1003", "P1008", "P1010", "P1011", "P1017", "P2024"]);

/** Driver-adapter error kinds that mean the same, whatever Prisma code wraps them (raw queries use P2010). */
const UNAVAILABLE_KINDS = new Set([
  "DatabaseNotReachable",
  "DatabaseDoesNotExist",
  "DatabaseAccessDenied",
  "AuthenticationFailed",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
  "TlsConnectionError",
]);

/** Messages of node-postgres when a pooled connection times out or drops, or a stalled peer never answers. */
const UNAVAILABLE_MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /ECONNREFUSED/,
  /query read timeout/i,
];

/**
 * SQLSTATEs that node-postgres hands over as they are, meaning the same as the kinds above: the
 * server refused the connection (class 08; 28000 and 28P01 for the role or password; 3D000 for a
 * database that does not exist; 53300 out of connections), is shutting down or starting (57P01,
 * 57P02, 57P03), or is too slow to answer now (57014: cancelled by statement_timeout; 55P03: a
 * lock not granted within lock_timeout, as behind a migration holding the table).
 */
const UNAVAILABLE_SQLSTATES = new Set([
  "28000",
  "28P01",
  "3D000",
  "53300",
  "57P01",
  "57P02",
  "57P03",
  "57014",
  "55P03",
]);

function sqlStateMeansUnavailable(code: unknown): boolean {
  return typeof code === "string" && (UNAVAILABLE_SQLSTATES.has(code) || /^08[0-9A-Z]{3}$/.test(code));
}

/** Node's codes for a host that refused, dropped or never answered, or a name that did not resolve. */
const UNAVAILABLE_SYSTEM_CODES = new Set(["ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN"]);

export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE_CODES.has(error.code)) return true;
    return causeMeansUnavailable(adapterErrorCause(error.meta));
  }
  if (error instanceof Error) {
    // Model queries of the client engine throw the driver adapter's error as it is.
    if (
      error.name === "DriverAdapterError" &&
      causeMeansUnavailable(adapterErrorCause({ driverAdapterError: error }))
    ) {
      return true;
    }
    const code = (error as { code?: unknown }).code;
    if ((typeof code === "string" && UNAVAILABLE_SYSTEM_CODES.has(code)) || sqlStateMeansUnavailable(code)) return true;
    return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message));
  }
  return false;
}

function causeMeansUnavailable(cause: { kind?: string; code?: string } | undefined): boolean {
  return (cause?.kind !== undefined && UNAVAILABLE_KINDS.has(cause.kind)) || sqlStateMeansUnavailable(cause?.code);
}

function adapterErrorCause(meta: unknown): { kind?: string; code?: string } | undefined {
  if (typeof meta !== "object" || meta === null || !("driverAdapterError" in meta)) return undefined;
  const adapterError = meta.driverAdapterError;
  if (typeof adapterError !== "object" || adapterError === null || !("cause" in adapterError)) return undefined;
  const cause = adapterError.cause;
  if (typeof cause !== "object" || cause === null) return undefined;
  const text = (key: string) => {
    const value = (cause as Record<string, unknown>)[key];
    return typeof value === "string" ? value : undefined;
  };
  return { kind: text("kind"), code: text("code") };
}

/** SQLSTATEs of classes 22 and 23 that a later attempt can clear: two writers racing for one key. */
const RACE_CODES = new Set(["23505", "23P01"]);

/**
 * The SQLSTATE of an error PostgreSQL will answer again however often the statement is retried:
 * class 22 (data exception: text jsonb refuses, a value out of range) and class 23 (integrity
 * constraint violation), but not a unique or exclusion violation, which comes from a race. null for
 * every other error, which is worth retrying.
 */
export function permanentDataErrorCode(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string" || !/^2[23][0-9A-Z]{3}$/.test(code) || RACE_CODES.has(code)) return null;
  return code;
}
