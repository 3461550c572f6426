// OpenTelemetry traces from real processes: the API and the worker (their main.ts, as `pnpm start`
// runs them) export over OTLP/HTTP (http/json) to a receiver this test runs. One signed webhook for
// a recorded email yields the API's request span and the worker's work on it in one trace; the
// batch span links to it; no address appears in any attribute. A receiver that is down or never
// answers slows no webhook; with the variables unset nothing is sent.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type MailstateHarness, mailstateSystem } from "@mailstate/api/testing";
import {
  basicAuth,
  createHarness,
  freePort,
  HttpReceiver,
  OPS_PASSWORD,
  OPS_USERNAME,
  type ReceivedRequest,
  resendEvent,
  signedWebhookHeaders,
  spawnProcess,
  waitUntil,
} from "@mailstate/test-support";
import { startTracing, tracingActive, tracingConfigured } from "@mailstate/tracing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

interface ExportedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
}

/** Each request's spans, parsed once. */
const parsed = new WeakMap<ReceivedRequest, ExportedSpan[]>();

/** The spans of OTLP/HTTP (http/json) trace exports among the requests, in arrival order. */
function exportedSpans(requests: readonly ReceivedRequest[]): ExportedSpan[] {
  return requests.flatMap((request) => {
    if (request.path !== "/v1/traces") return [];
    let spans = parsed.get(request);
    if (!spans) {
      spans = spansOf(request.json);
      parsed.set(request, spans);
    }
    return spans;
  });
}

// biome-ignore lint/suspicious/noExplicitAny: an OTLP export request, as JSON
function spansOf(exported: any): ExportedSpan[] {
  const value = (v: Record<string, unknown>) => Object.values(v)[0];
  const spans: ExportedSpan[] = [];
  for (const resource of exported?.resourceSpans ?? []) {
    const service = String(
      value(resource.resource.attributes.find((a: { key: string }) => a.key === "service.name")?.value ?? {}),
    );
    for (const scope of resource.scopeSpans ?? [])
      for (const span of scope.spans ?? [])
        spans.push({
          service,
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId ?? "",
          name: span.name,
          attributes: Object.fromEntries(
            (span.attributes ?? []).map((a: { key: string; value: Record<string, unknown> }) => [
              a.key,
              value(a.value),
            ]),
          ),
          links: (span.links ?? []).map((link: { traceId: string; spanId: string }) => ({
            traceId: link.traceId,
            spanId: link.spanId,
          })),
        });
  }
  return spans;
}

let harness: MailstateHarness;
/** The OTLP/HTTP receiver every test exports to: it answers 200 with an empty JSON object. */
let receiver: HttpReceiver;
const otel = (endpoint: string) => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
  OTEL_BSP_SCHEDULE_DELAY: "100",
});

beforeAll(async () => {
  harness = await createHarness("e2e_tracing", mailstateSystem);
  receiver = await HttpReceiver.start({
    answer: () => ({ status: 200, headers: { "content-type": "application/json" }, body: "{}" }),
  });
});
afterAll(async () => {
  await harness?.close();
  await receiver?.close();
});

/** Until a span the predicate picks is exported (20 s at most); the timeout lists what was. */
function exportedSpan(what: string, predicate: (span: ExportedSpan) => boolean): Promise<ExportedSpan> {
  return receiver.waitFor(
    what,
    (requests) => exportedSpans(requests).find(predicate),
    20_000,
    () => [...new Set(exportedSpans(receiver.requests).map((span) => `${span.service}: ${span.name}`))].join(", "),
  );
}

/** Record a send on `api`, then post its delivered webhook; answers the address, email id and svix-id. */
async function recordAndDeliver(api: Awaited<ReturnType<MailstateHarness["spawnApi"]>>) {
  const address = `trace-${randomUUID().slice(0, 8)}@example.com`;
  const emailId = randomUUID();
  const recorded = await api.call("POST", "/v1/notifications", {
    to: address,
    from: "Acme <hello@acme.test>",
    subject: `Receipt for ${address}`,
    resendEmailId: emailId,
  });
  expect(recorded.status).toBe(201);
  const svixId = await api.postWebhook(resendEvent("email.delivered", emailId, 4, address));
  return { address, emailId, svixId, notificationId: recorded.body.notification.id as string };
}

describe("tracing", () => {
  it("input: OTEL_EXPORTER_OTLP_ENDPOINT (http/json) on the API and the worker, one signed webhook for a recorded email → the API's request span (svix-id, email id, type) and the worker's 'apply email.delivered' span (its child, outcome applied) in one trace; the inbox.batch span links to it; the support page links the event to the trace (TRACE_URL_TEMPLATE); no attribute holds the address", async () => {
    const api = await harness.spawnApi({
      ...otel(receiver.url),
      TRACE_URL_TEMPLATE: "https://jaeger.example/trace/{traceId}",
      OPS_USERNAME,
      OPS_PASSWORD,
    });
    const worker = harness.spawnWorker(otel(receiver.url));
    try {
      await worker.waitFor(/worker ready/);
      const { address, emailId, svixId, notificationId } = await recordAndDeliver(api);
      const applied = await exportedSpan(
        "the worker's span of the webhook",
        (span) => span.service === "mailstate-worker" && span.attributes["mailstate.svix_id"] === svixId,
      );
      const request = await exportedSpan(
        "the API's request span of the webhook",
        (span) => span.service === "mailstate-api" && span.attributes["mailstate.svix_id"] === svixId,
      );
      expect(request.attributes).toMatchObject({
        "mailstate.event_type": "email.delivered",
        "mailstate.email_id": emailId,
        "url.path": "/webhooks/resend",
      });
      expect(applied).toMatchObject({
        name: "apply email.delivered",
        traceId: request.traceId,
        parentSpanId: request.spanId,
        attributes: { "mailstate.email_id": emailId, "mailstate.outcome": "applied" },
      });
      const batch = await exportedSpan(
        "the batch span linking to the webhook's trace",
        (span) => span.name === "inbox.batch" && span.links.some((link) => link.traceId === request.traceId),
      );
      expect(batch.service).toBe("mailstate-worker");
      // The statements of the batch nest in its span.
      await waitUntil(
        "a PostgreSQL span under the batch",
        () =>
          exportedSpans(receiver.requests).some(
            (span) => span.parentSpanId === batch.spanId && span.name.startsWith("pg.query"),
          ),
        20_000,
      );
      // Each instrumentation patched its module: express's routes (the record), Redis commands.
      await waitUntil(
        "an express span and an ioredis span",
        () =>
          exportedSpans(receiver.requests).some(
            (span) => span.service === "mailstate-api" && span.name.startsWith("request handler"),
          ) &&
          exportedSpans(receiver.requests).some(
            (span) => span.attributes["db.system"] === "redis" || span.attributes["db.system.name"] === "redis",
          ),
        20_000,
        { detail: () => [...new Set(exportedSpans(receiver.requests).map((span) => span.name))].join(", ") },
      );
      // The memory guard's INFO reading, which this webhook set off (the API's first), is not part of
      // its trace: it serves every webhook until the next reading. It went out on the same connection
      // before the job's add, so once the add's span is here, an INFO span would be too.
      await exportedSpan(
        "the API's add of the inbox job, in the webhook's trace",
        (span) => span.traceId === request.traceId && span.name.startsWith("add inbox"),
      );
      const names = exportedSpans(receiver.requests)
        .filter((span) => span.traceId === request.traceId)
        .map((span) => span.name);
      expect(names).not.toContain("info");
      // The support page shows the event's trace id, linked through TRACE_URL_TEMPLATE.
      const page = await waitUntil(
        "the notification page to show the delivered event",
        async () => {
          const answer = await fetch(`${api.baseUrl}/support/notifications/${notificationId}`, {
            headers: { authorization: basicAuth() },
          });
          const body = await answer.text();
          return body.includes(svixId) ? body : undefined;
        },
        10_000,
      );
      expect(page).toContain(
        `<a class="mono" href="https://jaeger.example/trace/${request.traceId}">${request.traceId}</a>`,
      );
      // Personal data never leaves: not in any attribute or span name of anything exported.
      const everything = receiver.requests.map((request) => request.body).join("\n");
      expect(everything).not.toContain(address);
      expect(everything).not.toContain(address.split("@")[0]);
    } finally {
      await Promise.all([api.process.stop("SIGTERM"), worker.stop("SIGTERM")]);
    }
  });

  it("input: a delivered webhook for an email not recorded yet (parked), then its send recorded, with an outbound endpoint subscribed → the replay of the parked event and the outbound POST to the endpoint are spans of the webhook's own trace", async () => {
    const env = { ...otel(receiver.url), OUTBOUND_ALLOW_PRIVATE: "true", OUTBOUND_RELAY_INTERVAL_MS: "100" };
    const api = await harness.spawnApi(env);
    const worker = harness.spawnWorker(env);
    try {
      await worker.waitFor(/worker ready/);
      const endpoint = await api.call("POST", "/v1/webhook-endpoints", {
        url: `${receiver.url}/hooks`,
        events: ["notification.state_changed"],
      });
      expect(endpoint.status).toBe(201);
      const emailId = randomUUID();
      const address = `parked-${randomUUID().slice(0, 8)}@example.com`;
      const svixId = await api.postWebhook(resendEvent("email.delivered", emailId, 6, address));
      await waitUntil(
        "the webhook to be parked",
        async () =>
          (await harness.sql.query("SELECT status FROM event_log WHERE svix_id = $1", [svixId])).rows[0]?.status ===
          "unmatched",
        20_000,
      );
      const recorded = await api.call("POST", "/v1/notifications", {
        to: address,
        from: "Acme <hello@acme.test>",
        subject: "Welcome",
        resendEmailId: emailId,
      });
      expect(recorded.status).toBe(201);
      const request = await exportedSpan(
        "the API's request span of the webhook",
        (span) => span.service === "mailstate-api" && span.attributes["mailstate.svix_id"] === svixId,
      );
      const replay = await exportedSpan(
        "the replay's span in the webhook's trace",
        (span) => span.name === "replay parked event" && span.attributes["mailstate.svix_id"] === svixId,
      );
      expect([replay.traceId, replay.parentSpanId]).toEqual([request.traceId, request.spanId]);
      expect(replay.attributes["mailstate.notification_id"]).toBe(recorded.body.notification.id);
      const delivery = await exportedSpan(
        "the outbound delivery's span in the webhook's trace",
        (span) => span.name === "deliver outbound webhook" && span.traceId === request.traceId,
      );
      expect(delivery.service).toBe("mailstate-worker");
      // The POST itself (http's client span) nests in it.
      await waitUntil(
        "the POST's client span under the delivery span",
        () =>
          exportedSpans(receiver.requests).some(
            (span) => span.parentSpanId === delivery.spanId && span.name === "POST",
          ),
        20_000,
      );
      expect(receiver.requests.map((request) => request.body).join("\n")).not.toContain(address);
    } finally {
      await Promise.all([api.process.stop("SIGTERM"), worker.stop("SIGTERM")]);
    }
  });

  it("input: a receiver that is down (a closed port), and one that never answers → 30 webhooks each answer 200 within 1 s; the API keeps serving", async () => {
    const closedPort = await freePort();
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      for (const endpoint of [`http://127.0.0.1:${closedPort}`, silentUrl]) {
        const api = await harness.spawnApi(otel(endpoint));
        try {
          const slowest = await Promise.all(
            Array.from({ length: 30 }, async (_, index) => {
              const started = performance.now();
              await api.postWebhook(resendEvent("email.sent", randomUUID(), index % 50, "x@example.com"));
              return performance.now() - started;
            }),
          );
          expect([endpoint, Math.max(...slowest) < 1_000]).toEqual([endpoint, true]);
          expect((await api.call("GET", "/healthz", undefined, {})).status).toBe(200);
        } finally {
          await api.process.stop("SIGTERM");
        }
      }
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("input: the OTEL variables unset → startTracing loads nothing and answers false; a spawned API and worker handle a webhook and the receiver gets no request", async () => {
    expect(tracingConfigured({})).toBe(false);
    expect(tracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x:4318", OTEL_SDK_DISABLED: "true" })).toBe(false);
    expect(await startTracing("mailstate-test", {})).toBe(false);
    expect(tracingActive()).toBe(false);
    const before = receiver.requests.length;
    const api = await harness.spawnApi({});
    const worker = harness.spawnWorker({});
    try {
      await worker.waitFor(/worker ready/);
      const { notificationId } = await recordAndDeliver(api);
      await waitUntil(
        "the webhook to apply",
        async () => (await api.call("GET", `/v1/notifications/${notificationId}`)).body.state === "delivered",
        20_000,
      );
      expect(receiver.requests.length).toBe(before);
    } finally {
      await Promise.all([api.process.stop("SIGTERM"), worker.stop("SIGTERM")]);
    }
  });

  it("input: OTEL_TRACES_SAMPLER=parentbased_always_off, a send recorded and 10 webhooks without a traceparent, then one carrying a sampled traceparent → only that webhook's trace is exported (its request span, its worker span); the dropped requests export no span at all, not even a Redis command or a statement", async () => {
    const own = await HttpReceiver.start({
      answer: () => ({ status: 200, headers: { "content-type": "application/json" }, body: "{}" }),
    });
    const env = { ...otel(own.url), OTEL_TRACES_SAMPLER: "parentbased_always_off" };
    const api = await harness.spawnApi(env);
    const worker = harness.spawnWorker(env);
    try {
      await worker.waitFor(/worker ready/);
      const dropped = await Promise.all(Array.from({ length: 10 }, () => recordAndDeliver(api)));
      await waitUntil(
        "the 10 dropped webhooks to apply",
        async () => {
          const states = await Promise.all(
            dropped.map(
              async ({ notificationId }) => (await api.call("GET", `/v1/notifications/${notificationId}`)).body.state,
            ),
          );
          return states.every((state) => state === "delivered");
        },
        20_000,
      );
      const traceId = randomUUID().replaceAll("-", "");
      const emailId = randomUUID();
      const recorded = await api.call("POST", "/v1/notifications", {
        to: "kept@example.com",
        from: "Acme <hello@acme.test>",
        subject: "Kept",
        resendEmailId: emailId,
      });
      expect(recorded.status).toBe(201);
      const body = JSON.stringify(resendEvent("email.delivered", emailId, 9, "kept@example.com"));
      const svixId = `msg_${randomUUID()}`;
      const kept = await fetch(`${api.baseUrl}/webhooks/resend`, {
        method: "POST",
        headers: { ...signedWebhookHeaders(svixId, body), traceparent: `00-${traceId}-b7ad6b7169203331-01` },
        body,
      });
      expect(kept.status).toBe(200);
      const spansOfOwn = () => exportedSpans(own.requests);
      const found = (service: string) => (span: ExportedSpan) =>
        span.service === service && span.attributes["mailstate.svix_id"] === svixId;
      await own.waitFor(
        "the kept webhook's API and worker spans",
        () => spansOfOwn().some(found("mailstate-api")) && spansOfOwn().some(found("mailstate-worker")),
        20_000,
      );
      // Spans leave each process in the order they end: the dropped requests' would have come first.
      const foreign = spansOfOwn().filter((span) => span.traceId !== traceId);
      expect(foreign.map((span) => `${span.service}: ${span.name}`)).toEqual([]);
      expect(spansOfOwn().find(found("mailstate-api"))?.parentSpanId).toBe("b7ad6b7169203331");
    } finally {
      await Promise.all([api.process.stop("SIGTERM"), worker.stop("SIGTERM")]);
      await own.close();
    }
  });

  it("input: 20 sends recorded at once through an API with DATABASE_POOL_SIZE=1, every trace kept → each record's trace holds exactly one insert statement, its own (a query that waited for the pool's one client is not traced in the trace of the request that handed the client over)", async () => {
    const own = await HttpReceiver.start({
      answer: () => ({ status: 200, headers: { "content-type": "application/json" }, body: "{}" }),
    });
    const api = await harness.spawnApi({ ...otel(own.url), DATABASE_POOL_SIZE: "1" });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          api.call("POST", "/v1/notifications", {
            to: `pool-${index}@example.com`,
            from: "Acme <hello@acme.test>",
            subject: "Pool",
            resendEmailId: randomUUID(),
          }),
        ),
      );
      expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(201));
      const isRecord = (span: ExportedSpan) => span.name === "POST /v1/notifications";
      const isInsert = (span: ExportedSpan) => span.name.startsWith("pg.query:notifications-insert-new");
      await own.waitFor(
        "20 record spans and 20 insert spans",
        () =>
          exportedSpans(own.requests).filter(isRecord).length >= 20 &&
          exportedSpans(own.requests).filter(isInsert).length >= 20,
        20_000,
      );
      const spans = exportedSpans(own.requests);
      const insertsPerRecord = spans
        .filter(isRecord)
        .map((record) => spans.filter((span) => isInsert(span) && span.traceId === record.traceId).length);
      expect(insertsPerRecord).toEqual(Array(20).fill(1));
    } finally {
      await api.process.stop("SIGTERM");
      await own.close();
    }
  });

  it("input: the API keeping no trace (parentbased_always_off), the worker every one it starts (parentbased_always_on), 5 recorded sends and their webhooks → the worker makes no span for the inbox jobs (they carry no trace): no 'process inbox', 'inbox.batch' or 'apply' span, though the events apply", async () => {
    const own = await HttpReceiver.start({
      answer: () => ({ status: 200, headers: { "content-type": "application/json" }, body: "{}" }),
    });
    const api = await harness.spawnApi({ ...otel(own.url), OTEL_TRACES_SAMPLER: "parentbased_always_off" });
    const worker = harness.spawnWorker({ ...otel(own.url), OTEL_TRACES_SAMPLER: "parentbased_always_on" });
    try {
      await worker.waitFor(/worker ready/);
      const sent = await Promise.all(Array.from({ length: 5 }, () => recordAndDeliver(api)));
      await waitUntil(
        "the 5 webhooks to apply",
        async () =>
          (
            await harness.sql.query("SELECT count(*)::int AS n FROM event_log WHERE svix_id = ANY($1)", [
              sent.map(({ svixId }) => svixId),
            ])
          ).rows[0]?.n === 5,
        20_000,
      );
      // Stopped, the worker has flushed every span it made.
      await worker.stop("SIGTERM");
      const jobSpans = ["process inbox", "complete inbox", "inbox.batch"];
      const inboxSpans = exportedSpans(own.requests).filter(
        (span) => jobSpans.includes(span.name) || span.name.startsWith("apply "),
      );
      expect(inboxSpans.map((span) => `${span.service}: ${span.name}`)).toEqual([]);
    } finally {
      await Promise.all([api.process.stop("SIGTERM"), worker.stop("SIGTERM")]);
      await own.close();
    }
  });

  it.each([
    [
      { OTEL_TRACES_SAMPLER: "jaeger_remote" },
      "OTEL_TRACES_SAMPLER: jaeger_remote is not supported: use one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio",
    ],
    [
      { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "10%" },
      "OTEL_TRACES_SAMPLER_ARG: 10% is not a ratio: give a number from 0 to 1 (0.1 keeps 10%)",
    ],
    [
      { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      "OTEL_EXPORTER_OTLP_PROTOCOL: grpc is not supported: use http/protobuf (the default) or http/json",
    ],
    [
      { OTEL_NODE_ENABLED_INSTRUMENTATIONS: "http,mongodb" },
      "OTEL_NODE_ENABLED_INSTRUMENTATIONS: mongodb unknown: name some of http, express, ioredis, pg, bullmq",
    ],
  ])("input: %j → the API exits 78 naming the variable", async (bad, message) => {
    const api = spawnProcess("node", ["--import", "tsx", mailstateSystem.api.main], {
      ...process.env,
      ...harness.env,
      ...otel(receiver.url),
      ...bad,
    });
    const code = await new Promise<number | null>((resolve) => api.child.on("exit", resolve));
    expect({ code, output: api.output().trim() }).toEqual({ code: 78, output: `mailstate api: ${message}` });
  });
});
