// Every /v1 operation, once: router.ts mounts each group's express router (and refuses to boot when
// the router serves other routes than its group lists), and openapi.ts renders the document from it.
import { suppressionSyncOf } from "@mailstate/runtime";
import { cancelRoutes } from "./cancel.ts";
import { notificationRoutes } from "./notifications.ts";
import { recipientRoutes } from "./recipients.ts";
import { reputationRoutes } from "./reputation.ts";
import type { PathParameters, V1RouteGroup } from "./route-group.ts";
import { componentRef } from "./schemas/fields.ts";
import {
  createdWebhookEndpointSchema,
  createWebhookEndpointBody,
  rotatedSecretSchema,
  webhookEndpointSchema,
} from "./schemas/outbound.ts";
import { reputationQuery, reputationSchema } from "./schemas/reputation.ts";
import {
  addSuppressionBody,
  checkSuppressionsBody,
  listNotificationsQuery,
  listSuppressionsQuery,
  recordBatchBody,
  recordNotificationBody,
  sendOutcomeBatchBody,
  sendOutcomeBody,
  tenantQuery,
  timelineQuery,
} from "./schemas/requests.ts";
import {
  attachBatchResultSchema,
  checkSuppressionsResultSchema,
  erasureSchema,
  notificationPageSchema,
  notificationSchema,
  recordBatchResultSchema,
  recordResultSchema,
  suppressionDetailSchema,
  suppressionPageSchema,
  suppressionSchema,
  timelineSchema,
} from "./schemas/responses.ts";
import { mirrorOn, suppressionRoutes } from "./suppressions.ts";
import { webhookEndpointRoutes } from "./webhook-endpoints.ts";

const uuidParameter = (description: string) => ({
  name: "id",
  in: "path",
  required: true,
  schema: { type: "string", format: "uuid" },
  description,
});
const notificationId: PathParameters = { parameter: uuidParameter("The notification's id.") };
const endpointId: PathParameters = { parameter: uuidParameter("The webhook endpoint's id.") };
const email: PathParameters = {
  parameter: {
    name: "email",
    in: "path",
    required: true,
    schema: { type: "string" },
    description: "An email address (URL-encoded); normalized (trimmed, lowercased).",
  },
  query: tenantQuery,
};

const UNKNOWN_NOTIFICATION =
  "No notification has this id, or it is another tenant's (a tenant's key sees only its own)";
const UNKNOWN_ENDPOINT = "No endpoint has this id, or it is another tenant's";
const PAGE_NOTE = "A page; pass nextCursor as cursor for the next";

/** In mounting order: express tries the groups' routes in this order. */
export const V1_ROUTES: readonly V1RouteGroup[] = [
  {
    serve: (deps) => notificationRoutes({ ...deps, scope: deps.env.SUPPRESSION_SCOPE }),
    operations: [
      {
        method: "post",
        path: "/v1/notifications",
        operationId: "recordNotification",
        summary: "Record a send (idempotent on idempotencyKey, per tenant, and on resendEmailId)",
        body: recordNotificationBody,
        answers: {
          "201": { description: "Recorded", schema: recordResultSchema },
          "200": {
            description: "Already recorded with this idempotencyKey or resendEmailId",
            schema: recordResultSchema,
          },
        },
        problems: ["conflict"],
      },
      {
        method: "get",
        path: "/v1/notifications",
        operationId: "listNotifications",
        summary: "A page of notifications, newest first",
        description:
          "The filters given all apply: a recipient (email), Resend's email id (resendEmailId), the Message-ID of the email's headers (messageId: `<id@host>` or `id@host`, matched without the angle brackets), a state. A tenant's key lists only its own tenant's notifications; another tenant's are not found.",
        query: listNotificationsQuery,
        answers: { "200": { description: PAGE_NOTE, schema: notificationPageSchema } },
      },
      {
        method: "post",
        path: "/v1/notifications/batch",
        operationId: "recordNotificationBatch",
        summary: "Record up to 100 sends",
        body: recordBatchBody,
        answers: {
          "201": { description: "At least one recorded", schema: recordBatchResultSchema },
          "200": { description: "All were already recorded", schema: recordBatchResultSchema },
        },
        problems: ["conflict"],
      },
      {
        method: "patch",
        path: "/v1/notifications/batch",
        operationId: "reportSendOutcomeBatch",
        summary:
          "After a batch send (up to 100): attach each Resend email id (parked events are replayed) or record Resend's refusal",
        body: sendOutcomeBatchBody,
        answers: {
          "200": {
            description:
              "One status per item, in order: attached, refusal_recorded, conflict or not_found (another tenant's notification is not_found)",
            schema: attachBatchResultSchema,
          },
        },
      },
      {
        method: "patch",
        path: "/v1/notifications/{id}",
        operationId: "reportSendOutcome",
        summary:
          "After the send: attach Resend's email id (parked events are replayed), or record Resend's refusal of it",
        pathParameters: notificationId,
        body: sendOutcomeBody,
        answers: {
          "200": {
            description: "The notification: Resend's id attached (or already attached), or Resend's refusal recorded",
            schema: notificationSchema,
          },
        },
        notFound: UNKNOWN_NOTIFICATION,
        problems: ["conflict"],
      },
      {
        method: "get",
        path: "/v1/notifications/{id}",
        operationId: "getNotification",
        summary: "A notification with its delivery state",
        pathParameters: notificationId,
        answers: { "200": { description: "The notification", schema: notificationSchema } },
        notFound: UNKNOWN_NOTIFICATION,
      },
      {
        method: "get",
        path: "/v1/notifications/{id}/timeline",
        operationId: "getTimeline",
        summary:
          "Every delivery event of the notification and one page of its opens and clicks, in order, with the state after each",
        pathParameters: notificationId,
        query: timelineQuery,
        answers: {
          "200": {
            description:
              "The timeline; pass nextEngagementCursor as engagementCursor for the next page of opens and clicks",
            schema: timelineSchema,
          },
        },
        notFound: UNKNOWN_NOTIFICATION,
      },
    ],
  },
  {
    serve: (deps) =>
      cancelRoutes({
        ...deps,
        resend: {
          apiKey: deps.env.RESEND_API_KEY,
          baseUrl: deps.env.RESEND_BASE_URL,
          timeoutMs: deps.env.RESEND_API_TIMEOUT_MS,
        },
      }),
    operations: [
      {
        method: "post",
        path: "/v1/notifications/{id}/cancel",
        operationId: "cancelNotification",
        summary:
          "Cancel a scheduled send at Resend (emails.cancel); its state becomes the final `canceled` once the worker applies the cancel (it goes through the inbox, as a webhook does)",
        pathParameters: notificationId,
        answers: {
          "202": {
            description: "Cancelled at Resend (or already cancelled): the cancel is recorded",
            inline: {
              type: "object",
              required: ["id", "resendEmailId", "canceled"],
              properties: {
                id: { type: "string", format: "uuid" },
                resendEmailId: { type: "string" },
                canceled: { type: "boolean", const: true },
              },
            },
          },
        },
        notFound: UNKNOWN_NOTIFICATION,
        problems: ["conflict", "resend_not_configured", "resend_unavailable", "resend_refused", "queue_unavailable"],
      },
    ],
  },
  {
    serve: ({ db, env, queues, logger }) =>
      suppressionRoutes({
        db,
        scope: env.SUPPRESSION_SCOPE,
        mirror: suppressionSyncOf(env) === "both" ? mirrorOn(queues, logger) : null,
      }),
    operations: [
      {
        method: "get",
        path: "/v1/suppressions",
        operationId: "listSuppressions",
        summary:
          "A page of active suppressions, newest first: those that apply to the key's tenant (an admin key: every list, or one tenant's)",
        query: listSuppressionsQuery,
        answers: { "200": { description: PAGE_NOTE, schema: suppressionPageSchema } },
      },
      {
        method: "post",
        path: "/v1/suppressions/check",
        operationId: "checkSuppressions",
        summary: "Which of these addresses are suppressed for the key's tenant's sends, and why",
        body: checkSuppressionsBody,
        answers: { "200": { description: "The status of each address", schema: checkSuppressionsResultSchema } },
      },
      {
        method: "post",
        path: "/v1/suppressions",
        operationId: "addSuppression",
        summary:
          "Suppress an address by hand (reason manual), on the key's tenant's list in tenant scope; recorded with the key in the audit log",
        body: addSuppressionBody,
        answers: {
          "201": { description: "Suppressed", schema: suppressionSchema },
          "200": { description: "Already suppressed on this list; the first reason stands", schema: suppressionSchema },
        },
      },
      {
        method: "get",
        path: "/v1/suppressions/{email}",
        operationId: "getSuppression",
        summary:
          "The suppression of an address that applies to the key's tenant, with who added and removed it by hand",
        pathParameters: email,
        answers: { "200": { description: "Suppressed", schema: suppressionDetailSchema } },
        notFound:
          "Not suppressed for this tenant (another tenant's suppression is not shown); `history` says who removed it, when someone did",
      },
      {
        method: "delete",
        path: "/v1/suppressions/{email}",
        operationId: "removeSuppression",
        summary:
          "Remove an address from the key's tenant's list (and its soft-bounce count); recorded with the key in the audit log",
        pathParameters: email,
        answers: { "204": { description: "Removed" } },
        notFound: "Not on this tenant's list (another tenant's suppression is not shown)",
      },
    ],
  },
  {
    serve: ({ db, env }) => webhookEndpointRoutes({ db, allowPrivate: env.OUTBOUND_ALLOW_PRIVATE }),
    operations: [
      {
        method: "post",
        path: "/v1/webhook-endpoints",
        operationId: "createWebhookEndpoint",
        summary:
          "Register an endpoint for outbound webhooks (the key's tenant's; an admin key naming no tenant makes a global one, which hears of every tenant)",
        body: createWebhookEndpointBody,
        answers: {
          "201": { description: "Registered; the secret is shown this once", schema: createdWebhookEndpointSchema },
        },
        problems: ["endpoint_url_refused"],
      },
      {
        method: "get",
        path: "/v1/webhook-endpoints",
        operationId: "listWebhookEndpoints",
        summary: "The key's tenant's endpoints (an admin key: every endpoint), never their secrets",
        answers: {
          "200": {
            description: "The endpoints",
            inline: {
              type: "object",
              properties: { data: { type: "array", items: componentRef(webhookEndpointSchema) } },
            },
          },
        },
      },
      {
        method: "delete",
        path: "/v1/webhook-endpoints/{id}",
        operationId: "deleteWebhookEndpoint",
        summary: "Delete an endpoint and its delivery log",
        pathParameters: endpointId,
        answers: { "204": { description: "Deleted" } },
        notFound: UNKNOWN_ENDPOINT,
      },
      {
        method: "post",
        path: "/v1/webhook-endpoints/{id}/rotate-secret",
        operationId: "rotateWebhookEndpointSecret",
        summary:
          "A new secret; for 24 hours messages are signed with the previous one too, so either verifies while the receiver is redeployed",
        pathParameters: endpointId,
        answers: { "200": { description: "The new secret, shown this once", schema: rotatedSecretSchema } },
        notFound: UNKNOWN_ENDPOINT,
      },
    ],
  },
  {
    serve: ({ sql }) => reputationRoutes({ sql }),
    operations: [
      {
        method: "get",
        path: "/v1/reputation",
        operationId: "getReputation",
        summary:
          "Bounce and complaint rates of the notifications recorded in a window (24h, 7d, 30d), with hourly or daily points",
        query: reputationQuery,
        answers: {
          "200": {
            description:
              "bounceRate = bounced / sent, complaintRate = complained / delivered, per window and per point",
            schema: reputationSchema,
          },
        },
        problems: ["tenant_forbidden"],
      },
    ],
  },
  {
    serve: ({ sql, queues, redis, env }) => recipientRoutes({ sql, queues, redis, prefix: env.QUEUE_PREFIX }),
    operations: [
      {
        method: "delete",
        path: "/v1/recipients/{email}",
        operationId: "eraseRecipient",
        summary:
          "Erase an address: its notifications with their events, parked events, click links, dead letters, outbound messages and jobs; its audit entries keep its sha256 instead. Its suppression rows stay. A tenant's key erases within its tenant; an admin key everywhere, or within ?tenant=. Recorded in the audit log under the address's sha256",
        pathParameters: email,
        answers: {
          "200": { description: "Erased (an address with no data: every count 0)", schema: erasureSchema },
        },
        problems: ["queue_unavailable"],
      },
    ],
  },
];
