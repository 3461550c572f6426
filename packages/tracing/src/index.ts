// OpenTelemetry traces for the API, the worker and the CLI. Off unless OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: then, and only then, the SDK and its
// instrumentations (http, express, ioredis, pg; BullMQ's own through bullmq-otel) are loaded.
// Each app starts it from a preload (`node --import ./dist/tracing.js`), before pg, ioredis and
// express are imported, so that their instrumentations can patch them. The SDK reads the standard
// variables itself: OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER(_ARG), OTEL_RESOURCE_ATTRIBUTES and the
// exporter's endpoint, headers and timeout.
import {
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { edgeSampling, sampledOnlyContextManager } from "./sampling.ts";

/** Set on globalThis by startTracing, so that every bundle of a process (the preload, the app) sees it. */
const ACTIVE = Symbol.for("mailstate.tracing");

interface ActiveTracing {
  serviceName: string;
  shutdown(): Promise<void>;
  bullmqTelemetry(joinOnly: boolean): unknown;
}

type Env = Record<string, string | undefined>;

/** The modules the instrumentations patch, which the ESM hook wraps (and no other). */
const HOOKED_MODULES = ["http", "https", "node:http", "node:https", "express", "router", "ioredis", "pg", "pg-pool"];

/** The instrumentations mailstate loads (OTEL_NODE_ENABLED_INSTRUMENTATIONS names a subset). */
const INSTRUMENTATIONS = ["http", "express", "ioredis", "pg", "bullmq"];

/** Whether the environment asks for traces. */
export function tracingConfigured(env: Env = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

/** Whether this process exports traces: the apps skip every span of their own when it does not. */
export function tracingActive(): boolean {
  return (globalThis as Record<symbol, unknown>)[ACTIVE] !== undefined;
}

function active(): ActiveTracing | undefined {
  return (globalThis as Record<symbol, ActiveTracing | undefined>)[ACTIVE];
}

/** A string that reads like an email address, wherever it sits in a value. */
const ADDRESS = /[^\s@<>"'(),;:/?&=]+@[^\s@<>"'(),;:/?&=]+/g;

/** Attributes never carry an address: URLs of /v1/suppressions/:email or ?q= of the support page would. */
export function redactAddresses(value: string): string {
  return value.includes("@") ? value.replace(ADDRESS, "[redacted]") : value;
}

export interface TracingOptions {
  /**
   * Trace requests only (the API): work outside a request the sampler kept makes no span. A
   * dropped request then costs nearly nothing (sampledOnlyContextManager).
   */
  requestsOnly?: boolean;
}

/**
 * Start the SDK when the environment asks for it; answers whether it did. `serviceName` is the
 * default of OTEL_SERVICE_NAME. OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: http/protobuf (the default)
 * or http/json; grpc is refused, naming the variable.
 */
export async function startTracing(
  serviceName: string,
  env: Env = process.env,
  { requestsOnly = false }: TracingOptions = {},
): Promise<boolean> {
  if (!tracingConfigured(env) || active()) return false;
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    "http/protobuf"
  ).trim();
  if (protocol !== "http/protobuf" && protocol !== "http/json")
    throw new Error(
      `OTEL_EXPORTER_OTLP_PROTOCOL: ${protocol} is not supported: use http/protobuf (the default) or http/json`,
    );
  // ESM imports of pg, ioredis and express reach the instrumentations through this hook. Only the
  // modules they patch are wrapped: every other module (the app's own among them) is left as is.
  const { register } = await import("node:module");
  register("@opentelemetry/instrumentation/hook.mjs", import.meta.url, { data: { include: HOOKED_MODULES } });
  const [sdkNode, traceBase, contexts, core, http, express, ioredis, pg, exporterModule, bullmq] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/context-async-hooks"),
    import("@opentelemetry/core"),
    import("@opentelemetry/instrumentation-http"),
    import("@opentelemetry/instrumentation-express"),
    import("@opentelemetry/instrumentation-ioredis"),
    import("@opentelemetry/instrumentation-pg"),
    protocol === "http/json"
      ? import("@opentelemetry/exporter-trace-otlp-http")
      : import("@opentelemetry/exporter-trace-otlp-proto"),
    import("bullmq-otel"),
  ]);
  const exporter = new exporterModule.OTLPTraceExporter();
  const edge = edgeSampling(env, traceBase);
  const quiet = new Set(["/healthz", "/readyz", "/metrics"]);
  // OTEL_NODE_ENABLED_INSTRUMENTATIONS (as auto-instrumentations-node reads it): a comma-separated
  // subset of http, express, ioredis, pg, bullmq; all of them when unset.
  const enabled = new Set(
    (env.OTEL_NODE_ENABLED_INSTRUMENTATIONS ?? "http,express,ioredis,pg,bullmq")
      .split(",")
      .map((name) => name.trim())
      .filter(Boolean),
  );
  const unknown = [...enabled].filter((name) => !INSTRUMENTATIONS.includes(name));
  if (unknown.length > 0)
    throw new Error(
      `OTEL_NODE_ENABLED_INSTRUMENTATIONS: ${unknown.join(", ")} unknown: name some of ${INSTRUMENTATIONS.join(", ")}`,
    );
  const sdk = new sdkNode.NodeSDK({
    ...(env.OTEL_SERVICE_NAME ? {} : { serviceName }),
    // Batches off the request path: a slow or absent receiver never slows a webhook (its queue is
    // bounded; spans past it are dropped). Every attribute is scrubbed of addresses first.
    spanProcessors: [new traceBase.BatchSpanProcessor(redacting(exporter))],
    sampler: edge.sampler,
    contextManager: sampledOnlyContextManager(contexts, core, { requestsOnly }),
    // Traces only. Left to itself the SDK also starts OTLP metrics and logs exporters (their
    // default when OTEL_METRICS_EXPORTER and OTEL_LOGS_EXPORTER are unset): every request would
    // then feed the instrumentations' duration histograms, sampled or not, at about the cost of the
    // request itself. mailstate's metrics are its Prometheus /metrics.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      enabled.has("http") &&
        new http.HttpInstrumentation({
          // Probes are never traced; every other request is traced only if the sampler keeps it.
          // The edge's draw first: it drops most requests before their URL is looked at.
          ignoreIncomingRequestHook: (request) =>
            !edge.keep(request.headers) || quiet.has((request.url ?? "").split("?")[0] ?? ""),
        }),
      // The route's handler, not each middleware layer (body parsing, auth...) nor each router it
      // passes: a kept request costs about three untraced ones, mostly in the spans it makes.
      enabled.has("express") &&
        new express.ExpressInstrumentation({
          ignoreLayersType: [express.ExpressLayerType.MIDDLEWARE, express.ExpressLayerType.ROUTER],
        }),
      // The command's name only: arguments hold keys and job data, addresses among them.
      enabled.has("ioredis") && new ioredis.IORedisInstrumentation({ dbStatementSerializer: (command) => command }),
      // Statements are parameterized: their text holds no data; the values are never recorded.
      // Only inside a span of the request or the batch: a suppressed request's statements make none.
      // Statements only: a span for each pool checkout would double them and say nothing.
      enabled.has("pg") &&
        new pg.PgInstrumentation({
          enhancedDatabaseReporting: false,
          requireParentSpan: true,
          ignoreConnectSpans: true,
        }),
    ].filter((instrumentation) => instrumentation !== false),
  });
  sdk.start();
  const telemetry = enabled.has("bullmq") ? new bullmq.BullMQOtel({ tracerName: serviceName }) : undefined;
  const joining = telemetry && joiningOnly(telemetry, core.suppressTracing(ROOT_CONTEXT));
  (globalThis as Record<symbol, ActiveTracing>)[ACTIVE] = {
    serviceName,
    shutdown: () => sdk.shutdown(),
    bullmqTelemetry: (joinOnly) => (joinOnly ? joining : telemetry),
  };
  return true;
}

/**
 * startTracing for an entry point (the API's and the worker's main.ts, the CLI): a configuration it
 * refuses ends the process with exit 78 (EX_CONFIG), naming the variable, prefixed with `label`.
 */
export async function startTracingOrExit(
  serviceName: string,
  label: string,
  options: TracingOptions = {},
): Promise<void> {
  try {
    await startTracing(serviceName, process.env, options);
  } catch (error) {
    console.error(`${label}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(78);
  }
}

/** A receiver that does not answer holds a shutdown this long at most. */
const SHUTDOWN_WAIT_MS = 2_000;

/** Flush and stop (on shutdown), waiting 2 s at most; nothing when tracing is off. */
export async function stopTracing(): Promise<void> {
  const tracing = active();
  if (!tracing) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    tracing.shutdown().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SHUTDOWN_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
}

/**
 * The `telemetry` option of BullMQ's queues and workers when tracing is on. `joinOnly` (the inbox's
 * workers): a job's spans join the trace the job carries, and a job that carries none makes none.
 */
export function bullmqTelemetry<T>({ joinOnly = false } = {}): { telemetry: T } | Record<string, never> {
  const telemetry = active()?.bullmqTelemetry(joinOnly);
  return telemetry ? { telemetry: telemetry as T } : {};
}

type BullMQOtel = InstanceType<typeof import("bullmq-otel").BullMQOtel>;

/**
 * bullmq-otel, except that it only joins traces. An inbox job carries the trace of the API's request
 * that opened its batch when the API kept that trace, and nothing when it dropped it: left to
 * itself, BullMQ would start a trace of its own for such a job, which the sampler keeps at its
 * ratio again, so that about twice the share of batches would be traced (their statements and
 * Redis commands with them). With this, a job the API's sampler dropped makes no span, and neither
 * does the work inside it; the webhooks in it that were kept still get their own `apply` spans.
 */
function joiningOnly(base: BullMQOtel, untraced: Context) {
  const inTrace = (within: Context) => (trace.getSpan(within) ? within : untraced);
  const active = () => inTrace(context.active());
  return {
    tracer: {
      startSpan: (name: string, options: unknown, parent?: Context) =>
        base.tracer.startSpan(name, options as Parameters<BullMQOtel["tracer"]["startSpan"]>[1], parent ?? active()),
    },
    contextManager: {
      active,
      with: <F extends (...args: never[]) => unknown>(within: Context, fn: F) => base.contextManager.with(within, fn),
      getMetadata: (within: Context) => base.contextManager.getMetadata(within),
      // The job's trace, from the root (not inside the suppressed context of the fetch). A job the
      // API added in a dropped trace carries "{}": no trace, so none is started for it.
      fromMetadata: (_active: Context, metadata: string) =>
        inTrace(base.contextManager.fromMetadata(ROOT_CONTEXT, metadata)),
    },
  };
}

/** The exporter, with every string attribute of every span scrubbed of addresses. */
function redacting<E extends { export(spans: unknown[], done: (result: unknown) => void): void }>(exporter: E): E {
  const original = exporter.export.bind(exporter);
  exporter.export = (spans, done) => {
    for (const span of spans as { attributes: Record<string, unknown>; name: string }[]) {
      for (const key in span.attributes) {
        const value = span.attributes[key];
        if (typeof value === "string" && value.includes("@")) span.attributes[key] = redactAddresses(value);
      }
    }
    original(spans, done);
  };
  return exporter;
}

let cachedTracer: Tracer | undefined;
/** mailstate's own tracer (asked for once: the SDK builds a key and looks it up on each call). */
const tracer = () => (cachedTracer ??= trace.getTracer(active()?.serviceName ?? "mailstate"));

/**
 * Run `work` outside any trace: housekeeping that a request happens to set off (the memory guard's
 * INFO reading, shared by every webhook until the next one) is no part of that request's work, and
 * its Redis command makes no span (ioredis's spans need a parent). Without tracing it only runs `work`.
 */
export function detached<T>(work: () => T): T {
  return tracingActive() ? context.with(ROOT_CONTEXT, work) : work();
}

/** The W3C traceparent of the active span (the request's), to carry with a job; undefined when off. */
export function currentTraceparent(): string | undefined {
  if (!tracingActive()) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

type Attributes = Record<string, string | number | undefined | null>;

/**
 * Attributes an operator searches by, set on the active span (the request's). Taken as a function:
 * with tracing off nothing is built, on the hot path of every webhook.
 */
export function annotateActiveSpan(attributes: () => Attributes): void {
  if (!tracingActive()) return;
  trace.getActiveSpan()?.setAttributes(defined(attributes()));
}

/** The attributes that have a value (a plain loop: it runs for every kept request and event). */
function defined(attributes: Attributes): Record<string, string | number> {
  const kept: Record<string, string | number> = {};
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined && value !== null) kept[key] = value;
  }
  return kept;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-([0-9a-f]{2})$/;

/** The trace id of a W3C traceparent when its trace is kept (sampled), else null. */
export function sampledTraceId(traceparent: string | undefined): string | null {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  return match?.[1] && (Number.parseInt(match[2] ?? "0", 16) & 1) === 1 ? match[1] : null;
}

/**
 * The context a traceparent names (a webhook's request, in the API): from the root, so that a span
 * made in it is that trace's, not suppressed with the dropped batch or job it runs in.
 */
export function contextOf(traceparent: string | undefined): Context | undefined {
  if (!traceparent) return undefined;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/**
 * Run `work` in a span of its own (active, so pg and ioredis spans nest in it), linked to the
 * traces these traceparents name: a batch of webhooks, each of its own trace. Without tracing it
 * only runs `work` (and builds none of the span's options).
 */
export async function inSpan<T>(
  name: string,
  spanOptions: () => {
    attributes?: Record<string, string | number>;
    links?: (string | undefined)[];
    /** The span's parent, in another trace (a webhook's): the active span's otherwise. */
    parent?: string | null;
  },
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracingActive()) return work(undefined);
  const options = spanOptions();
  const parent = contextOf(options.parent ?? undefined) ?? context.active();
  const links: Link[] = (options.links ?? []).flatMap((traceparent) => {
    const linked = contextOf(traceparent);
    const spanContext = linked ? trace.getSpanContext(linked) : undefined;
    return spanContext ? [{ context: spanContext }] : [];
  });
  return tracer().startActiveSpan(name, { attributes: options.attributes ?? {}, links }, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: 2 });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** What startEventSpan answers for a webhook whose trace was not kept. */
const NO_SPAN = () => {};

/**
 * A span of one webhook's own trace (its parent the API's request, from the traceparent it
 * carried), not made active: the batch's statements belong to the batch's span. Answers its end.
 * Only for a webhook whose trace was kept (its traceparent sampled): a trace the API dropped gets no
 * span anywhere, not even under a batch the worker kept, and a dropped webhook costs nothing here.
 */
export function startEventSpan(
  name: string,
  traceparent: string | undefined,
  attributes: () => Attributes,
): (outcome: Attributes) => void {
  if (!tracingActive() || sampledTraceId(traceparent) === null) return NO_SPAN;
  const span = tracer().startSpan(name, { attributes: defined(attributes()) }, contextOf(traceparent));
  return (outcome) => {
    span.setAttributes(defined(outcome));
    span.end();
  };
}
