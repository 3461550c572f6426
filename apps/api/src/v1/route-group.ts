// What a group of /v1 routes is: the operations it documents, the express router that serves them,
// and what that router is built from.
import type { Db, SqlPool } from "@mailstate/db";
import type { Queues, RedisClient } from "@mailstate/queue";
import type { Logger } from "@mailstate/runtime";
import type { Router } from "express";
import type { z } from "zod";
import type { ApiEnv } from "../env.ts";
import type { DatabaseHealth } from "../http/database-deadline.ts";
import type { ProblemCode } from "../http/problems.ts";

export interface V1Deps {
  env: Pick<
    ApiEnv,
    | "API_KEYS"
    | "QUEUE_PREFIX"
    | "API_RATE_LIMIT_RPS"
    | "API_RATE_LIMIT_BURST"
    | "API_RATE_LIMIT_ADMIN_RPS"
    | "SUPPRESSION_SCOPE"
    | "RESEND_API_KEY"
    | "RESEND_BASE_URL"
    | "RESEND_API_TIMEOUT_MS"
    | "RESEND_SUPPRESSION_SYNC"
    | "OUTBOUND_ALLOW_PRIVATE"
  >;
  db: Db;
  sql: SqlPool;
  /** Where the rate limits are counted. */
  redis: RedisClient;
  queues: Queues;
  logger: Logger;
  /** Where requests PostgreSQL did not answer are noted, for /readyz. */
  databaseHealth: DatabaseHealth;
}

type JsonSchema = Record<string, unknown>;

/** One answer: a schema of `components` (by `$ref`), one written out, or no body. */
export interface Answer {
  description: string;
  schema?: z.ZodType;
  inline?: JsonSchema;
}

/** What every operation on a path shares: its `{…}` parameter, and a query they all take. */
export interface PathParameters {
  parameter: JsonSchema;
  query?: z.ZodObject;
}

export interface V1Operation {
  method: "get" | "post" | "patch" | "delete";
  /** As the document writes it (`/v1/notifications/{id}`); express writes `{id}` as `:id`. */
  path: `/v1/${string}`;
  operationId: string;
  summary: string;
  description?: string;
  pathParameters?: PathParameters;
  query?: z.ZodObject;
  /** A schema of `components`, documented as accepted. */
  body?: z.ZodType;
  answers: Record<string, Answer>;
  /** Why it answers 404; without one it names nothing, and only an unknown path answers 404. */
  notFound?: string;
  /** Problems of its own, besides those every operation answers. */
  problems?: ProblemCode[];
}

export interface V1RouteGroup {
  /** The express router of these operations, and of no other route. */
  serve: (deps: V1Deps) => Router;
  operations: readonly V1Operation[];
}
