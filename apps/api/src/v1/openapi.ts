// The OpenAPI 3.1 document of /v1, rendered from the route table (route-table.ts) and from the same
// zod schemas the routes parse with.
import { Router } from "express";
import { z } from "zod";
import { PROBLEMS, type ProblemCode } from "../http/problems.ts";
import type { Answer, V1Operation } from "./route-group.ts";
import { V1_ROUTES } from "./route-table.ts";
import { componentId, componentRef, components, componentUri } from "./schemas/fields.ts";
import { OUTBOUND_MESSAGES } from "./schemas/outbound.ts";
import { problemSchema } from "./schemas/responses.ts";

type JsonSchema = Record<string, unknown>;

/** Every `$ref` inside a JSON Schema. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, inner]) =>
    key === "$ref" && typeof inner === "string" ? [inner] : refsIn(inner),
  );
}

/**
 * The request bodies of the route table and the named schemas inside them (by id): documented as
 * accepted (before transforms), where everything else is documented as answered.
 */
function acceptedSchemas(input: Record<string, JsonSchema>): Set<string> {
  const pending = V1_ROUTES.flatMap((group) => group.operations).flatMap(({ body }) =>
    body ? [componentId(body)] : [],
  );
  const accepted = new Set<string>();
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    if (accepted.has(id)) continue;
    accepted.add(id);
    pending.push(...refsIn(input[id]).map((uri) => uri.slice(componentUri("").length)));
  }
  return accepted;
}

function componentSchemas(): Record<string, JsonSchema> {
  const options = { target: "draft-2020-12", uri: componentUri } as const;
  const input = z.toJSONSchema(components, { ...options, io: "input" }).schemas;
  // Request schemas transform (addresses are normalized), which has no output JSON Schema; their
  // output form is never used, so "any" only silences the complaint.
  const output = z.toJSONSchema(components, { ...options, io: "output", unrepresentable: "any" }).schemas;
  const accepted = acceptedSchemas(input);
  const result: Record<string, JsonSchema> = {};
  for (const id of Object.keys(output)) {
    const { $schema: _schema, $id: _id, ...schema } = (accepted.has(id) ? input[id] : output[id]) ?? {};
    result[id] = schema;
  }
  return result;
}

const json = (schema: JsonSchema) => ({ "application/json": { schema } });
const problemContent = () => ({ "application/problem+json": { schema: componentRef(problemSchema) } });

function answer({ description, schema, inline }: Answer) {
  const body = schema ? componentRef(schema) : inline;
  return body ? { description, content: json(body) } : { description };
}

/** The problem answers of these codes, one entry per status (400 has several causes). */
function problems(...codes: ProblemCode[]) {
  const byStatus = new Map<string, string[]>();
  for (const code of codes) {
    const status = String(PROBLEMS[code].status);
    byStatus.set(status, [...(byStatus.get(status) ?? []), PROBLEMS[code].title]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, titles]) => [status, { description: titles.join("; "), content: problemContent() }]),
  );
}

function queryParameters(schema: z.ZodObject | undefined) {
  if (!schema) return [];
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

const NO_ROUTE = "Not found: no /v1 route has this method and path (the route itself never answers 404)";

/**
 * What every route may answer: a key that is missing, unknown or revoked (401); a tenant's key naming
 * another tenant (403); the key over its rate limit (429, with Retry-After); the body and database troubles.
 */
function commonAnswers() {
  return {
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
      content: problemContent(),
    },
  };
}

function renderOperation(operation: V1Operation, common: JsonSchema) {
  const answers = Object.fromEntries(Object.entries(operation.answers).map(([status, each]) => [status, answer(each)]));
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    ...(operation.query ? { parameters: queryParameters(operation.query) } : {}),
    ...(operation.body ? { requestBody: { required: true, content: json(componentRef(operation.body)) } } : {}),
    responses: {
      ...answers,
      ...common,
      "404": { description: operation.notFound ?? NO_ROUTE, content: problemContent() },
      ...problems(...(operation.problems ?? [])),
    },
  };
}

/** Every path of the table with its operations; the parameters of a path are written once, on it. */
function paths(): Record<string, Record<string, unknown>> {
  const common = commonAnswers();
  const result: Record<string, Record<string, unknown>> = {};
  for (const operation of V1_ROUTES.flatMap((group) => group.operations)) {
    const item = result[operation.path] ?? {};
    result[operation.path] = item;
    if (operation.path.includes("{") && !operation.pathParameters) {
      throw new Error(`route table: ${operation.operationId} does not describe the parameter of ${operation.path}`);
    }
    if (operation.pathParameters && !item.parameters) {
      const { parameter, query } = operation.pathParameters;
      item.parameters = [parameter, ...queryParameters(query)];
    }
    item[operation.method] = renderOperation(operation, common);
  }
  return result;
}

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

function outboundMessage(schema: z.ZodType, summary: string) {
  return {
    post: {
      summary,
      parameters: Object.entries(SIGNATURE_HEADERS).map(([name, header]) => ({
        name,
        in: "header",
        required: true,
        ...header,
      })),
      requestBody: { required: true, content: json(componentRef(schema)) },
      responses: {
        "2XX": { description: "Received: not sent again (unless replayed, with the same webhook-id)" },
        default: { description: "Retried with exponential backoff for about a day, then the endpoint is disabled" },
      },
    },
  };
}

function buildOpenApiDocument(): JsonSchema {
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
    paths: paths(),
    webhooks: Object.fromEntries(
      Object.entries(OUTBOUND_MESSAGES).map(([event, { schema, summary }]) => [
        event,
        outboundMessage(schema, summary),
      ]),
    ),
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
