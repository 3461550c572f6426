// /v1 as a whole against the real app, PostgreSQL (a database of its own) and Redis (a prefix of its
// own): the key every route asks for, the OpenAPI document of every route, and the 503 every route
// answers when PostgreSQL is down. Each resource has its tests beside its code (notifications-*.test.ts,
// suppressions.test.ts).
import { randomUUID } from "node:crypto";
import { createLogger } from "@mailstate/runtime";
import { startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MailstateStack, mailstateSystem } from "../../test/testing.ts";
import { loadApiEnv } from "../env.ts";
import { createDatabaseHealth } from "../http/database-deadline.ts";
import { notification } from "./notification-fixtures.ts";
import { V1_ROUTES } from "./route-table.ts";
import { servedRoutes, v1Router } from "./router.ts";

let api: MailstateStack;
beforeAll(async () => {
  api = await startStack("api_v1", mailstateSystem);
});
afterAll(async () => {
  await api?.close();
});

describe("authentication", () => {
  it("no Authorization header → 401 problem+json", async () => {
    const answer = await api.call("GET", `/v1/notifications/${randomUUID()}`, undefined, {});
    expect(answer.status).toBe(401);
    expect(answer.contentType).toContain("application/problem+json");
    expect(answer.body).toMatchObject({ status: 401, type: "https://mailstate.dev/problems/unauthorized" });
  });

  it("a wrong key → 401; the second configured key → 200", async () => {
    const wrong = await api.call("POST", "/v1/notifications", notification(), {
      authorization: "Bearer msk_test_wrong_wrong_wrong_wrong",
    });
    expect(wrong.status).toBe(401);
    const second = await api.call("GET", "/v1/notifications?limit=1", undefined, {
      authorization: "Bearer msk_test_second_key_0000000000",
    });
    expect(second.status).toBe(200);
  });

  it("Basic credentials instead of a bearer key → 401", async () => {
    const answer = await api.call("GET", "/v1/notifications", undefined, { authorization: "Basic b3BzOm9wcw==" });
    expect(answer.status).toBe(401);
  });
});

describe("GET /openapi.json", () => {
  it("without a key → 200, an OpenAPI 3.1 document with the zod-derived schemas", async () => {
    const answer = await api.call("GET", "/openapi.json", undefined, {});
    expect(answer.status).toBe(200);
    expect(answer.body.openapi).toBe("3.1.0");
    const record = answer.body.components.schemas.RecordNotification;
    expect(record.required).toEqual(expect.arrayContaining(["to", "from", "subject"]));
    expect(record.properties.to.anyOf).toHaveLength(2);
    expect(answer.body.components.schemas.RecordNotificationBatch.properties.notifications.items).toEqual({
      $ref: "#/components/schemas/RecordNotification",
    });
    expect(answer.body.components.schemas.Notification.properties.state.enum).toContain("bounced");
    expect(Object.keys(answer.body.paths["/v1/notifications/batch"]).sort()).toEqual(["patch", "post"]);
    expect(answer.body.components.schemas.AttachBatchResult.properties.data.items.properties.status.enum).toEqual([
      "attached",
      "refusal_recorded",
      "conflict",
      "not_found",
    ]);
  });

  it("documents exactly the routes express serves under /v1: both come from the route table", async () => {
    const { paths } = (await api.call("GET", "/openapi.json", undefined, {})).body;
    const documented = Object.entries(paths as Record<string, object>).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((method) => method !== "parameters")
        .map((method) => `${method} ${path}`),
    );
    const served = servedRoutes(
      v1Router({
        env: loadApiEnv(api.env),
        db: api.db,
        sql: api.sql,
        redis: api.redis,
        queues: api.queues,
        logger: createLogger("api-v1-test", "silent"),
        databaseHealth: createDatabaseHealth(),
      }),
    );
    const listed = V1_ROUTES.flatMap((group) => group.operations.map(({ method, path }) => `${method} ${path}`));
    expect(served.sort()).toEqual(documented.sort());
    expect(listed.sort()).toEqual(documented.sort());
  });

  it("GET /v1/notifications → its query parameters, messageId among them (a string of at most 998 characters)", async () => {
    const { paths } = (await api.call("GET", "/openapi.json", undefined, {})).body;
    const parameters: { name: string; in: string; schema: Record<string, unknown> }[] =
      paths["/v1/notifications"].get.parameters;
    expect(parameters.map((parameter) => `${parameter.in}:${parameter.name}`)).toEqual([
      "query:email",
      "query:resendEmailId",
      "query:messageId",
      "query:state",
      "query:tenant",
      "query:cursor",
      "query:limit",
    ]);
    expect(parameters.find((parameter) => parameter.name === "messageId")?.schema).toMatchObject({
      type: "string",
      maxLength: 998,
      description: expect.stringContaining("with or without its angle brackets"),
    });
  });

  it("every operation describes 401, 403, 404 and 429 (with Retry-After) as problem+json", async () => {
    const { paths } = (await api.call("GET", "/openapi.json", undefined, {})).body;
    const operations = Object.entries(paths).flatMap(([path, item]) =>
      Object.entries(item as Record<string, { responses?: Record<string, { content?: object; headers?: object }> }>)
        .filter(([method]) => method !== "parameters")
        .map(([method, operation]) => ({ name: `${method} ${path}`, responses: operation.responses ?? {} })),
    );
    expect(operations).toHaveLength(19);
    for (const { name, responses } of operations) {
      for (const status of ["401", "403", "404", "429"]) {
        expect([name, status, Object.keys(responses[status]?.content ?? {})]).toEqual([
          name,
          status,
          ["application/problem+json"],
        ]);
      }
      expect([name, Object.keys(responses["429"]?.headers ?? {})]).toEqual([name, ["Retry-After"]]);
    }
  });
});

describe("GET /openapi.json: outbound webhooks", () => {
  it("lists the three messages under `webhooks`, with the Standard Webhooks headers and their schemas", async () => {
    const { webhooks, components } = (await api.call("GET", "/openapi.json", undefined, {})).body;
    expect(Object.keys(webhooks).sort()).toEqual([
      "notification.state_changed",
      "suppression.created",
      "suppression.removed",
    ]);
    const stateChanged = webhooks["notification.state_changed"].post;
    expect(stateChanged.parameters.map((p: { name: string }) => p.name)).toEqual([
      "webhook-id",
      "webhook-timestamp",
      "webhook-signature",
    ]);
    expect(stateChanged.requestBody.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/NotificationStateChangedMessage",
    });
    const data = components.schemas.NotificationStateChangedMessage.properties.data;
    expect(Object.keys(data.properties).sort()).toEqual(
      ["at", "category", "event", "from", "notificationId", "resendEmailId", "tenant", "to"].sort(),
    );
    expect(data.properties.to.enum).toContain("bounced");
    const suppression = components.schemas.SuppressionChangedMessage.properties;
    expect(suppression.type.enum).toEqual(["suppression.created", "suppression.removed"]);
    expect(suppression.data.required).toEqual(["email", "reason", "at"]);
    expect(components.schemas.CreatedWebhookEndpoint.required).toEqual(["id", "url", "events", "secret"]);
    expect(components.schemas.CreateWebhookEndpoint.properties.events.items.enum).toEqual([
      "notification.state_changed",
      "suppression.created",
      "suppression.removed",
    ]);
  });
});

describe("PostgreSQL unreachable", () => {
  let down: MailstateStack;
  beforeAll(async () => {
    down = await startStack("api_v1_down", mailstateSystem, {
      env: { DATABASE_URL: "postgresql://postgres@127.0.0.1:1/x" },
    });
  });
  afterAll(async () => {
    await down?.close();
  });

  it("POST /v1/notifications and GET a timeline → 503 database_unavailable within 6 s, with Retry-After", async () => {
    const started = Date.now();
    const recorded = await down.call("POST", "/v1/notifications", notification());
    expect(recorded.status).toBe(503);
    expect(recorded.body.type).toBe("https://mailstate.dev/problems/database-unavailable");
    const timeline = await down.call("GET", `/v1/notifications/${randomUUID()}/timeline`);
    expect(timeline.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(6_000);
    const raw = await fetch(`${down.baseUrl}/v1/suppressions/check`, {
      method: "POST",
      headers: { authorization: `Bearer ${down.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ emails: ["a@b.test"] }),
    });
    expect(raw.status).toBe(503);
    expect(raw.headers.get("retry-after")).toBe("5");
  });
});
