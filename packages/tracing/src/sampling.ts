// Head sampling at the edge. OpenTelemetry's http, express, ioredis and pg instrumentations do most
// of their work before the sampler is asked: the request's attributes, a span per middleware layer,
// a span per Redis command and per statement, each then dropped unsampled. At 10% sampling that made
// the API cost about twice its untraced CPU per webhook. So the API asks the configured sampler
// first, when the request arrives: a request it would not keep is served with tracing suppressed
// (no span, and none of the instrumentations below it do anything), and the one it keeps gets the
// server span the edge promised.
import { type Context, propagation, ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import type { Sampler, SamplingResult } from "@opentelemetry/sdk-trace-base";

type Env = Record<string, string | undefined>;
type SamplerModule = typeof import("@opentelemetry/sdk-trace-base");

const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
];

interface SamplerSetting {
  /** OTEL_TRACES_SAMPLER, one of SAMPLERS. */
  name: string;
  /**
   * The share of the traces a request without a traceparent starts that the sampler keeps: its
   * root's (a parentbased_ sampler asks its root when there is no parent); 1 for always_on.
   */
  rootRatio: number;
}

/**
 * OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG as the specification defines them (default
 * parentbased_always_on). Where the SDK would log a value it cannot read and go on with its
 * default, this refuses it, naming the variable.
 */
function samplerSetting(env: Env): SamplerSetting {
  const name = (env.OTEL_TRACES_SAMPLER ?? "parentbased_always_on").trim();
  if (!SAMPLERS.includes(name))
    throw new Error(`OTEL_TRACES_SAMPLER: ${name} is not supported: use one of ${SAMPLERS.join(", ")}`);
  const rootRatio = name.endsWith("always_on") ? 1 : name.endsWith("always_off") ? 0 : ratioFromEnv(env);
  return { name, rootRatio };
}

function samplerOf({ name, rootRatio }: SamplerSetting, samplers: SamplerModule): Sampler {
  const root = name.endsWith("traceidratio")
    ? new samplers.TraceIdRatioBasedSampler(rootRatio)
    : rootRatio === 1
      ? new samplers.AlwaysOnSampler()
      : new samplers.AlwaysOffSampler();
  return name.startsWith("parentbased_") ? new samplers.ParentBasedSampler({ root }) : root;
}

/** The sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name (samplerSetting). */
export function samplerFromEnv(env: Env, samplers: SamplerModule): Sampler {
  return samplerOf(samplerSetting(env), samplers);
}

function ratioFromEnv(env: Env): number {
  const raw = env.OTEL_TRACES_SAMPLER_ARG?.trim() ?? "1";
  const ratio = Number(raw);
  if (raw === "" || !Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    throw new Error(`OTEL_TRACES_SAMPLER_ARG: ${raw} is not a ratio: give a number from 0 to 1 (0.1 keeps 10%)`);
  return ratio;
}

/**
 * The edge's decision and the sampler that honours it, for OTEL_TRACES_SAMPLER(_ARG) as `env` names
 * them. `keep(headers)` decides about an incoming request before any span exists: with the
 * caller's traceparent, the configured sampler is asked about it; without one (every webhook from
 * Resend) the request starts a trace, which the root sampler keeps at its ratio, so a draw against
 * that ratio decides it without making up a trace id to ask about (the server span the SDK then
 * starts gets an id of its own). `sampler` is what the SDK then uses: a server span exists only for
 * a request the edge kept, so it is kept; every other span is the configured sampler's to decide.
 */
export function edgeSampling(env: Env, samplers: SamplerModule) {
  const setting = samplerSetting(env);
  const configured = samplerOf(setting, samplers);
  const keep = (headers: Record<string, string | string[] | undefined>): boolean => {
    const parent = headers.traceparent === undefined ? undefined : propagation.extract(ROOT_CONTEXT, headers);
    const traceId = parent && trace.getSpanContext(parent)?.traceId;
    // No traceparent, or one that does not parse: the request starts a trace of its own.
    if (!parent || !traceId) return Math.random() < setting.rootRatio;
    const { decision } = configured.shouldSample(parent, traceId, "edge", SpanKind.SERVER, {}, []);
    return decision === samplers.SamplingDecision.RECORD_AND_SAMPLED;
  };
  const sampler: Sampler = {
    shouldSample(parent, traceId, spanName, spanKind, attributes, links): SamplingResult {
      if (spanKind === SpanKind.SERVER) return { decision: samplers.SamplingDecision.RECORD_AND_SAMPLED };
      return configured.shouldSample(parent, traceId, spanName, spanKind, attributes, links);
    },
    toString: () => `EdgeSampling{${configured.toString()}}`,
  };
  return { keep, sampler };
}

type ContextManagerModule = typeof import("@opentelemetry/context-async-hooks");
type CoreModule = typeof import("@opentelemetry/core");

/**
 * The SDK's context manager, except that a span the sampler dropped is never the active one: the
 * work inside it runs with tracing suppressed. The pg, ioredis and express instrumentations trace
 * whatever runs under an active span, recording or not; under a dropped BullMQ job or batch they
 * would make (and throw away) a span per statement and per Redis command. Spans given an explicit
 * parent from a kept trace (a webhook's `apply` span) are made from that parent, not from here.
 */
export function sampledOnlyContextManager(
  contexts: ContextManagerModule,
  core: CoreModule,
  { requestsOnly = false }: { requestsOnly?: boolean } = {},
) {
  const untraced = core.suppressTracing(ROOT_CONTEXT);
  return new (class extends contexts.AsyncLocalStorageContextManager {
    /**
     * `requestsOnly` (the API): work outside any context, a request the edge dropped among it, runs
     * with tracing suppressed. Such a request then needs no context of its own: the http
     * instrumentation serves it as it comes (patches/@opentelemetry__instrumentation-http@0.301.2.patch)
     * instead of entering a suppressed context and binding the request and response to it, which
     * wraps every listener either gets.
     */
    override active(): Context {
      const active = super.active();
      return requestsOnly && active === ROOT_CONTEXT ? untraced : active;
    }

    override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
      active: Context,
      fn: F,
      thisArg?: ThisParameterType<F>,
      ...args: A
    ): ReturnType<F> {
      const span = trace.getSpan(active);
      const entered = span && !span.isRecording() ? core.suppressTracing(trace.deleteSpan(active)) : active;
      return super.with(entered, fn, thisArg, ...args);
    }
  })();
}
