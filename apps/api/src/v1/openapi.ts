// The OpenAPI 3.1 document of /v1, generated from the same zod schemas the routes parse with.
import { Router } from "express";
import { z } from "zod";
import { PROBLEMS, type ProblemCode } from "../http/problems.ts";
import {
  components,
  listNotificationsQuery,
  listSuppressionsQuery,
  reputationQuery,
  tenantQuery,
  timelineQuery,
} from "./schemas.ts";

type JsonSchema = Record<string, unknown>;

/** Request bodies are documented as accepted (before transforms); everything else as answered. */
const REQUEST_SCHEMAS = new Set([
  "RecordNotification",
  "RecordNotificationBatch",
  "SendOutcome",
  "SendOutcomeBatch",
  "SendError",
  "AddSuppression",
  "CheckSuppressions",
  "CreateWebhookEndpoint",
]);

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

function componentSchemas(): Record<string, JsonSchema> {
  const options = { target: "draft-2020-12", uri: (id: string) => `#/components/schemas/${id}` } as const;
  const input = z.toJSONSchema(components, { ...options, io: "input" }).schemas;
  // Request schemas transform (addresses are normalized), which has no output JSON Schema; their
  // output form is never used, so "any" only silences the complaint.
  const output = z.toJSONSchema(components, { ...options, io: "output", unrepresentable: "any" }).schemas;
  const result: Record<string, JsonSchema> = {};
  for (const id of Object.keys(output)) {
    const { $schema: _schema, $id: _id, ...schema } = (REQUEST_SCHEMAS.has(id) ? input[id] : output[id]) ?? {};
    result[id] = schema;
  }
  return result;
}

const json = (schema: JsonSchema) => ({ "application/json": { schema } });

function answer(description: string, schema?: JsonSchema) {
  return schema ? { description, content: json(schema) } : { description };
}

/** The problem answers of these codes, one entry per status (400 has several causes). */
function problems(...codes: ProblemCode[]) {
  const byStatus = new Map<string, string[]>();
  for (const code of codes) {
    const status = String(PROBLEMS[code].status);
    byStatus.set(status, [...(byStatus.get(status) ?? []), PROBLEMS[code].title]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, titles]) => [
      status,
      { description: titles.join("; "), content: { "application/problem+json": { schema: ref("Problem") } } },
    ]),
  );
}

const idParameter = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", format: "uuid" },
  description: "The notification's id.",
};
const endpointIdParameter = {
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", format: "uuid" },
  description: "The webhook endpoint's id.",
};

/** The Standard Webhooks headers every outbound message carries. */
const SIGNATURE_HEADERS = {
  "webhook-id": {
    description: "The message id (`msg_…`): the same on every retry and replay; deduplicate on it.",
    schema: { type: "string" },
  },
  "webhook-timestamp": { description: "Unix seconds of this attempt.", schema: { type: "string" } },
  "webhook-signature": {
    description:
      "`v1,<base64 HMAC-SHA256>`, space-separated when a rotation's previous secret signs too. Verify with svix's Webhook.verify or the SDK's webhooks.verify().",
    schema: { type: "string" },
  },
};

function outboundMessage(id: string, summary: string) {
  return {
    post: {
      summary,
      parameters: Object.entries(SIGNATURE_HEADERS).map(([name, header]) => ({
        name,
        in: "header",
        required: true,
        ...header,
      })),
      requestBody: { required: true, content: json(ref(id)) },
      responses: {
        "2XX": { description: "Received: not sent again (unless replayed, with the same webhook-id)" },
        default: { description: "Retried with exponential backoff for about a day, then the endpoint is disabled" },
      },
    },
  };
}

const emailParameter = {
  name: "email",
  in: "path",
  required: true,
  schema: { type: "string" },
  description: "An email address (URL-encoded); normalized (trimmed, lowercased).",
};

function queryParameters(schema: z.ZodObject) {
  const { properties = {}, required = [] } = z.toJSONSchema(schema, { io: "input" }) as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: "query",
    required: required.includes(name),
    schema: property,
  }));
}

/** Why a route answers 404: its own reason, or, where it names nothing, an unknown path. */
function notFound(description: string) {
  return { "404": { description, content: { "application/problem+json": { schema: ref("Problem") } } } };
}

const NO_ROUTE = "Not found: no /v1 route has this method and path (the route itself never answers 404)";

export function buildOpenApiDocument(): JsonSchema {
  // Every route: a key that is missing, unknown or revoked (401); a tenant's key naming another
  // tenant (403); the key over its rate limit (429, with Retry-After); and the body and database troubles.
  const common = {
    ...problems(
      "unauthorized",
      "validation_failed",
      "malformed_json",
      "unreadable_body",
      "unsupported_media_type",
      "tenant_forbidden",
      "rate_limited",
      "database_unavailable",
    ),
    "429": {
      description: PROBLEMS.rate_limited.title,
      headers: {
        "Retry-After": { description: "Seconds to wait before the next request.", schema: { type: "integer" } },
      },
      content: { "application/problem+json": { schema: ref("Problem") } },
    },
  };
  const unknownNotification = notFound(
    "No notification has this id, or it is another tenant's (a tenant's key sees only its own)",
  );
  return {
    openapi: "3.1.0",
    info: {
      title: "mailstate",
      version: "1.0.0",
      description:
        "True delivery state for every email sent through Resend. Record each send, attach Resend's email id, read its state and timeline, and manage the suppression list. A tenant's API key reads and writes only that tenant's data; another tenant's notification or suppression answers 404.",
    },
    jsonSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
    security: [{ apiKey: [] }],
    paths: {
      "/v1/notifications": {
        post: {
          operationId: "recordNotification",
          summary: "Record a send (idempotent on idempotencyKey, per tenant, and on resendEmailId)",
          requestBody: { required: true, content: json(ref("RecordNotification")) },
          responses: {
            "201": answer("Recorded", ref("RecordResult")),
            "200": answer("Already recorded with this idempotencyKey or resendEmailId", ref("RecordResult")),
            ...common,
            ...notFound(NO_ROUTE),
            ...problems("conflict"),
          },
        },
        get: {
          operationId: "listNotifications",
          summary: "A page of notifications, newest first",
          description:
            "The filters given all apply: a recipient (email), Resend's email id (resendEmailId), the Message-ID of the email's headers (messageId: `<id@host>` or `id@host`, matched without the angle brackets), a state. A tenant's key lists only its own tenant's notifications; another tenant's are not found.",
          parameters: queryParameters(listNotificationsQuery),
          responses: {
            "200": answer("A page; pass nextCursor as cursor for the next", ref("NotificationPage")),
            ...common,
            ...notFound(NO_ROUTE),
          },
        },
      },
      "/v1/notifications/batch": {
        post: {
          operationId: "recordNotificationBatch",
          summary: "Record up to 100 sends",
          requestBody: { required: true, content: json(ref("RecordNotificationBatch")) },
          responses: {
            "201": answer("At least one recorded", ref("RecordBatchResult")),
            "200": answer("All were already recorded", ref("RecordBatchResult")),
            ...common,
            ...notFound(NO_ROUTE),
            ...problems("conflict"),
          },
        },
        patch: {
          operationId: "reportSendOutcomeBatch",
          summary:
            "After a batch send (up to 100): attach each Resend email id (parked events are replayed) or record Resend's refusal",
          requestBody: { required: true, content: json(ref("SendOutcomeBatch")) },
          responses: {
            "200": answer(
              "One status per item, in order: attached, refusal_recorded, conflict or not_found (another tenant's notification is not_found)",
              ref("AttachBatchResult"),
            ),
            ...common,
            ...notFound(NO_ROUTE),
          },
        },
      },
      "/v1/notifications/{id}": {
        parameters: [idParameter],
        get: {
          operationId: "getNotification",
          summary: "A notification with its delivery state",
          responses: { "200": answer("The notification", ref("Notification")), ...common, ...unknownNotification },
        },
        patch: {
          operationId: "reportSendOutcome",
          summary:
            "After the send: attach Resend's email id (parked events are replayed), or record Resend's refusal of it",
          requestBody: { required: true, content: json(ref("SendOutcome")) },
          responses: {
            "200": answer(
              "The notification: Resend's id attached (or already attached), or Resend's refusal recorded",
              ref("Notification"),
            ),
            ...common,
            ...unknownNotification,
            ...problems("conflict"),
          },
        },
      },
      "/v1/notifications/{id}/cancel": {
        parameters: [idParameter],
        post: {
          operationId: "cancelNotification",
          summary:
            "Cancel a scheduled send at Resend (emails.cancel); its state becomes the final `canceled` once the worker applies the cancel (it goes through the inbox, as a webhook does)",
          responses: {
            "202": answer("Cancelled at Resend (or already cancelled): the cancel is recorded", {
              type: "object",
              required: ["id", "resendEmailId", "canceled"],
              properties: {
                id: { type: "string", format: "uuid" },
                resendEmailId: { type: "string" },
                canceled: { type: "boolean", const: true },
              },
            }),
            ...common,
            ...unknownNotification,
            ...problems(
              "conflict",
              "resend_not_configured",
              "resend_unavailable",
              "resend_refused",
              "queue_unavailable",
            ),
          },
        },
      },
      "/v1/notifications/{id}/timeline": {
        parameters: [idParameter],
        get: {
          operationId: "getTimeline",
          summary:
            "Every delivery event of the notification and one page of its opens and clicks, in order, with the state after each",
          parameters: queryParameters(timelineQuery),
          responses: {
            "200": answer(
              "The timeline; pass nextEngagementCursor as engagementCursor for the next page of opens and clicks",
              ref("Timeline"),
            ),
            ...common,
            ...unknownNotification,
          },
        },
      },
      "/v1/reputation": {
        get: {
          operationId: "getReputation",
          summary:
            "Bounce and complaint rates of the notifications recorded in a window (24h, 7d, 30d), with hourly or daily points",
          parameters: queryParameters(reputationQuery),
          responses: {
            "200": answer(
              "bounceRate = bounced / sent, complaintRate = complained / delivered, per window and per point",
              ref("Reputation"),
            ),
            ...common,
            ...notFound(NO_ROUTE),
            ...problems("tenant_forbidden"),
          },
        },
      },
      "/v1/suppressions": {
        get: {
          operationId: "listSuppressions",
          summary:
            "A page of active suppressions, newest first: those that apply to the key's tenant (an admin key: every list, or one tenant's)",
          parameters: queryParameters(listSuppressionsQuery),
          responses: {
            "200": answer("A page; pass nextCursor as cursor for the next", ref("SuppressionPage")),
            ...common,
            ...notFound(NO_ROUTE),
          },
        },
        post: {
          operationId: "addSuppression",
          summary:
            "Suppress an address by hand (reason manual), on the key's tenant's list in tenant scope; recorded with the key in the audit log",
          requestBody: { required: true, content: json(ref("AddSuppression")) },
          responses: {
            "201": answer("Suppressed", ref("Suppression")),
            "200": answer("Already suppressed on this list; the first reason stands", ref("Suppression")),
            ...common,
            ...notFound(NO_ROUTE),
          },
        },
      },
      "/v1/suppressions/check": {
        post: {
          operationId: "checkSuppressions",
          summary: "Which of these addresses are suppressed for the key's tenant's sends, and why",
          requestBody: { required: true, content: json(ref("CheckSuppressions")) },
          responses: {
            "200": answer("The status of each address", ref("CheckSuppressionsResult")),
            ...common,
            ...notFound(NO_ROUTE),
          },
        },
      },
      "/v1/suppressions/{email}": {
        parameters: [emailParameter, ...queryParameters(tenantQuery)],
        get: {
          operationId: "getSuppression",
          summary:
            "The suppression of an address that applies to the key's tenant, with who added and removed it by hand",
          responses: {
            "200": answer("Suppressed", ref("SuppressionWithHistory")),
            ...common,
            ...notFound(
              "Not suppressed for this tenant (another tenant's suppression is not shown); `history` says who removed it, when someone did",
            ),
          },
        },
        delete: {
          operationId: "removeSuppression",
          summary:
            "Remove an address from the key's tenant's list (and its soft-bounce count); recorded with the key in the audit log",
          responses: {
            "204": answer("Removed"),
            ...common,
            ...notFound("Not on this tenant's list (another tenant's suppression is not shown)"),
          },
        },
      },
      "/v1/recipients/{email}": {
        parameters: [emailParameter, ...queryParameters(tenantQuery)],
        delete: {
          operationId: "eraseRecipient",
          summary:
            "Erase an address: its notifications with their events, parked events, click links, dead letters, outbound messages and jobs; its audit entries keep its sha256 instead. Its suppression rows stay. A tenant's key erases within its tenant; an admin key everywhere, or within ?tenant=. Recorded in the audit log under the address's sha256",
          responses: {
            "200": answer("Erased (an address with no data: every count 0)", ref("Erasure")),
            ...common,
            ...notFound(NO_ROUTE),
            ...problems("queue_unavailable"),
          },
        },
      },
      "/v1/webhook-endpoints": {
        post: {
          operationId: "createWebhookEndpoint",
          summary:
            "Register an endpoint for outbound webhooks (the key's tenant's; an admin key naming no tenant makes a global one, which hears of every tenant)",
          requestBody: { required: true, content: json(ref("CreateWebhookEndpoint")) },
          responses: {
            "201": answer("Registered; the secret is shown this once", ref("CreatedWebhookEndpoint")),
            ...common,
            ...notFound(NO_ROUTE),
            ...problems("endpoint_url_refused"),
          },
        },
        get: {
          operationId: "listWebhookEndpoints",
          summary: "The key's tenant's endpoints (an admin key: every endpoint), never their secrets",
          responses: {
            "200": answer("The endpoints", {
              type: "object",
              properties: { data: { type: "array", items: ref("WebhookEndpoint") } },
            }),
            ...common,
            ...notFound(NO_ROUTE),
          },
        },
      },
      "/v1/webhook-endpoints/{id}": {
        parameters: [endpointIdParameter],
        delete: {
          operationId: "deleteWebhookEndpoint",
          summary: "Delete an endpoint and its delivery log",
          responses: {
            "204": answer("Deleted"),
            ...common,
            ...notFound("No endpoint has this id, or it is another tenant's"),
          },
        },
      },
      "/v1/webhook-endpoints/{id}/rotate-secret": {
        parameters: [endpointIdParameter],
        post: {
          operationId: "rotateWebhookEndpointSecret",
          summary:
            "A new secret; for 24 hours messages are signed with the previous one too, so either verifies while the receiver is redeployed",
          responses: {
            "200": answer("The new secret, shown this once", ref("RotatedWebhookSecret")),
            ...common,
            ...notFound("No endpoint has this id, or it is another tenant's"),
          },
        },
      },
    },
    webhooks: {
      "notification.state_changed": outboundMessage(
        "NotificationStateChangedMessage",
        "A notification's folded delivery state changed",
      ),
      "suppression.created": outboundMessage("SuppressionChangedMessage", "An address was suppressed"),
      "suppression.removed": outboundMessage(
        "SuppressionChangedMessage",
        "An address was taken off a suppression list",
      ),
    },
    components: {
      securitySchemes: {
        apiKey: {
          type: "http",
          scheme: "bearer",
          description:
            "A key from `pnpm mailstate keys create` (one tenant's, or an admin key), or one of API_KEYS (admin keys).",
        },
      },
      schemas: componentSchemas(),
    },
  };
}

export function openApiRoutes(): Router {
  const document = buildOpenApiDocument();
  const router = Router();
  router.get("/openapi.json", (_req, res) => {
    res.json(document);
  });
  return router;
}
