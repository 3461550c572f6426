// Tells "PostgreSQL cannot be reached right now" apart from every other database error, so HTTP can answer 503.
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

/** Messages of node-postgres when a pooled connection times out or drops before any query ran. */
const UNAVAILABLE_MESSAGES = [/timeout exceeded when trying to connect/i, /connection terminated/i, /ECONNREFUSED/];

export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE_CODES.has(error.code)) return true;
    const kind = adapterErrorKind(error.meta);
    return kind !== undefined && UNAVAILABLE_KINDS.has(kind);
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ECONNREFUSED" || code === "ETIMEDOUT" || code === "ECONNRESET") return true;
    return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(error.message));
  }
  return false;
}

function adapterErrorKind(meta: unknown): string | undefined {
  if (typeof meta !== "object" || meta === null || !("driverAdapterError" in meta)) return undefined;
  const adapterError = meta.driverAdapterError;
  if (typeof adapterError !== "object" || adapterError === null || !("cause" in adapterError)) return undefined;
  const cause = adapterError.cause;
  if (typeof cause !== "object" || cause === null || !("kind" in cause)) return undefined;
  return typeof cause.kind === "string" ? cause.kind : undefined;
}
