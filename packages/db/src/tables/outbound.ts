// Outbound webhooks: the endpoints applications register (webhook_endpoints), and the outbox of
// messages to them (outbound_messages), which is also each endpoint's delivery log. Messages are
// inserted by the transaction that makes the change they speak of (a reconcile's projection, a
// suppression added or removed), one row per subscribed endpoint; the worker's relay moves pending
// rows to BullMQ and its delivery job records each attempt here.
import { randomBytes } from "node:crypto";
import type { OutboundStatus, Prisma } from "../../generated/client/index.js";
import type { DbClient } from "../client.ts";
import { type BatchWrite, execute, type Runner, type SqlRunner } from "../sql.ts";
import { type Projection, projectionRecords } from "./notifications/projection.ts";

export const OUTBOUND_EVENT_TYPES = [
  "notification.state_changed",
  "suppression.created",
  "suppression.removed",
] as const;
export type OutboundEventType = (typeof OUTBOUND_EVENT_TYPES)[number];

/** How long the secret before a rotation keeps signing messages, next to the new one. */
export const SECRET_OVERLAP_MS = 24 * 3_600_000;

/** A Standard Webhooks secret: `whsec_` and 32 random bytes in base64 (what svix's Webhook takes). */
export function newEndpointSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

/** An endpoint as the API lists it: never its secret. */
export interface EndpointRow {
  id: string;
  tenant: string | null;
  url: string;
  events: string[];
  description: string | null;
  createdAt: Date;
  failingSince: Date | null;
  disabledAt: Date | null;
  disabledReason: string | null;
  previousSecretExpiresAt: Date | null;
}

const ENDPOINT_ROW = {
  id: true,
  tenant: true,
  url: true,
  events: true,
  description: true,
  createdAt: true,
  failingSince: true,
  disabledAt: true,
  disabledReason: true,
  previousSecretExpiresAt: true,
} as const;

/** A key of a tenant sees that tenant's endpoints; an admin key (tenant undefined) every endpoint. */
const visibleTo = (tenant: string | null | undefined): Prisma.WebhookEndpointWhereInput =>
  tenant === undefined ? {} : { tenant };

export const webhookEndpoints = {
  /** Register an endpoint; answers the row and its secret, shown once. */
  async create(
    db: DbClient,
    input: { tenant: string | null; url: string; events: string[]; description: string | null },
  ): Promise<{ row: EndpointRow; secret: string }> {
    const secret = newEndpointSecret();
    const row = await db.webhookEndpoint.create({ data: { ...input, secret }, select: ENDPOINT_ROW });
    return { row, secret };
  },

  /** Oldest first. `tenant` undefined: every endpoint (an admin key's view). */
  list(db: DbClient, tenant: string | null | undefined): Promise<EndpointRow[]> {
    return db.webhookEndpoint.findMany({
      where: visibleTo(tenant),
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      select: ENDPOINT_ROW,
    });
  },

  find(db: DbClient, id: string): Promise<EndpointRow | null> {
    return db.webhookEndpoint.findUnique({ where: { id }, select: ENDPOINT_ROW });
  },

  /** Delete it and its delivery log; true when it existed. */
  async remove(db: DbClient, id: string): Promise<boolean> {
    return (await db.webhookEndpoint.deleteMany({ where: { id } })).count > 0;
  },

  /**
   * A new secret; the current one keeps signing (next to it) for `overlapMs`, so a receiver can
   * deploy the new one without rejecting messages meanwhile. Answers the new secret, or null.
   */
  async rotateSecret(db: DbClient, id: string, overlapMs = SECRET_OVERLAP_MS, now = new Date()) {
    const current = await db.webhookEndpoint.findUnique({ where: { id }, select: { secret: true } });
    if (!current) return null;
    const secret = newEndpointSecret();
    const row = await db.webhookEndpoint.update({
      where: { id },
      data: { secret, previousSecret: current.secret, previousSecretExpiresAt: new Date(now.getTime() + overlapMs) },
      select: ENDPOINT_ROW,
    });
    return { row, secret };
  },
};

/** A timestamptz as ISO 8601 in UTC with milliseconds, as JSON writes dates. */
const iso = (expression: string) => `to_char(${expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A message id: `msg_` and a random UUID's hex; stored with the row, so every attempt and replay carries it. */
const NEW_MESSAGE_ID = "'msg_' || replace(gen_random_uuid()::text, '-', '')";

/** The endpoints a message of this type about this tenant goes to: subscribed, enabled, global or the tenant's. */
const subscribed = (type: string, tenant: string) =>
  `e.disabled_at IS NULL AND ${type} = ANY(e.events) AND (e.tenant IS NULL OR e.tenant = ${tenant})`;

/** A suppression added or removed, as `suppression.created` and `suppression.removed` speak of it. */
export interface SuppressionChange {
  type: "suppression.created" | "suppression.removed";
  email: string;
  reason: string;
  /** The list: null for the list every tenant obeys (only global endpoints hear of it). */
  tenant: string | null;
  at: Date;
}

/** What one message looks like in an endpoint's delivery log. */
export interface DeliveryRow {
  id: string;
  endpointId: string;
  eventType: string;
  status: OutboundStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

/** A message with what sending it needs. */
export interface OutgoingMessage {
  id: string;
  endpointId: string;
  status: OutboundStatus;
  body: string;
  url: string;
  secrets: string[];
  disabled: boolean;
}

export const outbox = {
  /**
   * The `notification.state_changed` messages of these projections: one per subscribed endpoint
   * of each notification whose stored state differs from its new one. Run with the projection
   * update in one writeTogether: every part reads the snapshot before the update, so `n.state`
   * is the state before the batch, and a redelivered or late event that folds to the same state
   * writes nothing.
   */
  stateChanges(projections: Map<string, Projection>): BatchWrite | null {
    if (projections.size === 0) return null;
    return {
      name: "outbox_state_changes",
      statement: (records) => `INSERT INTO outbound_messages (id, endpoint_id, event_type, ordering_key, payload)
        SELECT ${NEW_MESSAGE_ID}, e.id, 'notification.state_changed', n.id::text,
               jsonb_build_object('type', 'notification.state_changed', 'timestamp', ${iso("now()")},
                 'data', jsonb_build_object('notificationId', n.id, 'tenant', n.tenant, 'category', n.category,
                   'resendEmailId', n.resend_email_id, 'from', n.state, 'to', v.state,
                   'at', ${iso("v.state_changed_at")},
                   'event', jsonb_build_object('type', v.state_event_type, 'svixId', v.state_event_id)))
          FROM jsonb_to_recordset(${records}::jsonb)
               AS v(id uuid, state text, state_changed_at timestamptz, state_event_type text, state_event_id text)
          JOIN notifications AS n ON n.id = v.id
          JOIN webhook_endpoints AS e ON ${subscribed("'notification.state_changed'", "n.tenant")}
         WHERE n.state::text IS DISTINCT FROM v.state
         ORDER BY n.id, e.id`,
      records: projectionRecords(projections),
    };
  },

  /** The messages of suppressions added or removed, in the transaction that made the change. */
  async suppressionChanges(runner: Runner, changes: SuppressionChange[]): Promise<number> {
    if (changes.length === 0) return 0;
    return execute(
      runner,
      `INSERT INTO outbound_messages (id, endpoint_id, event_type, ordering_key, payload)
       SELECT ${NEW_MESSAGE_ID}, e.id, v.type, v.email,
              jsonb_build_object('type', v.type, 'timestamp', ${iso("now()")},
                'data', jsonb_build_object('email', v.email, 'reason', v.reason, 'at', ${iso("v.at")})
                        || CASE WHEN v.tenant IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('tenant', v.tenant) END)
         FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (type text, email text, reason text, tenant text, at timestamptz))
              WITH ORDINALITY AS v(type, email, reason, tenant, at, n)
         JOIN webhook_endpoints AS e ON ${subscribed("v.type", "v.tenant")}
        ORDER BY v.n, e.id`,
      [JSON.stringify(changes)],
    );
  },

  /**
   * Pending messages ready to go: the first pending one of each endpoint and ordering key (so one
   * notification's messages reach an endpoint in commit order), oldest first.
   */
  async ready(sql: SqlRunner, limit: number): Promise<string[]> {
    const { rows } = await sql.query<{ id: string }>(
      `SELECT m.id FROM outbound_messages AS m
        WHERE m.status = 'pending'
          AND NOT EXISTS (SELECT 1 FROM outbound_messages AS p
                           WHERE p.endpoint_id = m.endpoint_id AND p.ordering_key = m.ordering_key
                             AND p.status = 'pending' AND p.seq < m.seq)
        ORDER BY m.seq
        LIMIT $1`,
      [limit],
    );
    return rows.map((row) => row.id);
  },

  /** A message, its endpoint, and the secrets that sign it now (the current one first). */
  async outgoing(sql: SqlRunner, id: string, now = new Date()): Promise<OutgoingMessage | null> {
    const { rows } = await sql.query<{
      id: string;
      endpoint_id: string;
      status: OutboundStatus;
      body: string;
      url: string;
      secret: string;
      previous_secret: string | null;
      previous_secret_expires_at: Date | null;
      disabled: boolean;
    }>(
      `SELECT m.id, m.endpoint_id::text, m.status, m.payload::text AS body, e.url, e.secret, e.previous_secret,
              e.previous_secret_expires_at, e.disabled_at IS NOT NULL AS disabled
         FROM outbound_messages AS m JOIN webhook_endpoints AS e ON e.id = m.endpoint_id
        WHERE m.id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) return null;
    const previousValid =
      row.previous_secret !== null &&
      row.previous_secret_expires_at !== null &&
      row.previous_secret_expires_at.getTime() > now.getTime();
    return {
      id: row.id,
      endpointId: row.endpoint_id,
      status: row.status,
      body: row.body,
      url: row.url,
      secrets: previousValid && row.previous_secret ? [row.secret, row.previous_secret] : [row.secret],
      disabled: row.disabled,
    };
  },

  /**
   * Record one attempt: delivered (2xx), or failed with the code or error. A success ends the
   * endpoint's failing streak; a failure starts one, if none runs. Answers when the streak began
   * (null after a success).
   */
  async recordAttempt(
    sql: SqlRunner,
    attempt: { id: string; endpointId: string; ok: boolean; statusCode: number | null; error: string | null },
  ): Promise<{ failingSince: Date | null }> {
    await sql.query(
      `UPDATE outbound_messages SET attempts = attempts + 1, last_status_code = $2, last_error = $3,
              last_attempt_at = now(),
              status = CASE WHEN $4 THEN 'delivered'::"OutboundStatus" ELSE status END,
              delivered_at = CASE WHEN $4 THEN now() ELSE delivered_at END
        WHERE id = $1`,
      [attempt.id, attempt.statusCode, attempt.error, attempt.ok],
    );
    const { rows } = await sql.query<{ failing_since: Date | null }>(
      `UPDATE webhook_endpoints SET failing_since = CASE WHEN $2 THEN NULL ELSE COALESCE(failing_since, now()) END
        WHERE id = $1 RETURNING failing_since`,
      [attempt.endpointId, attempt.ok],
    );
    return { failingSince: rows[0]?.failing_since ?? null };
  },

  /** Give up on a message (its last attempt failed, or its endpoint is disabled or gone). */
  async markFailed(sql: SqlRunner, id: string, error: string): Promise<void> {
    await sql.query(
      "UPDATE outbound_messages SET status = 'failed', last_error = $2 WHERE id = $1 AND status = 'pending'",
      [id, error],
    );
  },

  /**
   * Disable an endpoint that has failed since `failingSince` (once: answers false when it already
   * was); its pending messages fail with it.
   */
  async disableEndpoint(sql: SqlRunner, endpointId: string, reason: string): Promise<boolean> {
    const { rowCount } = await sql.query(
      "UPDATE webhook_endpoints SET disabled_at = now(), disabled_reason = $2 WHERE id = $1 AND disabled_at IS NULL",
      [endpointId, reason],
    );
    await sql.query(
      `UPDATE outbound_messages SET status = 'failed', last_error = 'endpoint disabled: ' || $2
        WHERE endpoint_id = $1 AND status = 'pending'`,
      [endpointId, reason],
    );
    return (rowCount ?? 0) > 0;
  },

  /** An endpoint's delivery log, newest first. */
  deliveries(db: DbClient, endpointId: string, limit = 50): Promise<DeliveryRow[]> {
    return db.outboundMessage.findMany({
      where: { endpointId },
      orderBy: { seq: "desc" },
      take: limit,
      select: {
        id: true,
        endpointId: true,
        eventType: true,
        status: true,
        attempts: true,
        lastStatusCode: true,
        lastError: true,
        lastAttemptAt: true,
        deliveredAt: true,
        createdAt: true,
      },
    });
  },

  /**
   * Send a message again (same id, same body): it goes back to pending for the relay. Answers
   * null when no message has the id.
   */
  async replay(db: DbClient, id: string): Promise<{ id: string; endpointId: string } | null> {
    const row = await db.outboundMessage.findUnique({ where: { id }, select: { id: true, endpointId: true } });
    if (!row) return null;
    await db.outboundMessage.update({ where: { id }, data: { status: "pending", deliveredAt: null } });
    return row;
  },
};
