// The edge's sampling decision, asked of the sampler OTEL_TRACES_SAMPLER names before any span of
// a request exists, and the sampler the SDK then uses. Each case states the variables and headers
// tried and what came back.
import { propagation, ROOT_CONTEXT, SpanKind, trace } from "@opentelemetry/api";
import * as contexts from "@opentelemetry/context-async-hooks";
import * as core from "@opentelemetry/core";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import * as samplers from "@opentelemetry/sdk-trace-base";
import { beforeAll, describe, expect, it } from "vitest";
import { edgeSampling, sampledOnlyContextManager, samplerFromEnv } from "./sampling.ts";

const SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const NOT_SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

function edge(env: Record<string, string>) {
  return edgeSampling(env, samplers);
}

/** How many of `n` requests without a traceparent the edge keeps. */
function keptOf(env: Record<string, string>, n: number): number {
  const { keep } = edge(env);
  let kept = 0;
  for (let i = 0; i < n; i++) if (keep({})) kept++;
  return kept;
}

// The SDK registers it when it starts (OTEL_PROPAGATORS' default); the edge reads the caller's header through it.
beforeAll(() => {
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});

describe("edge sampling", () => {
  it("input: no OTEL_TRACES_SAMPLER → parentbased_always_on: every request without a traceparent kept; a caller's unsampled traceparent (flags 00) dropped, a sampled one (01) kept", () => {
    const { keep } = edge({});
    expect(keptOf({}, 100)).toBe(100);
    expect(keep({ traceparent: NOT_SAMPLED })).toBe(false);
    expect(keep({ traceparent: SAMPLED })).toBe(true);
  });

  it("input: parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG 0.1, 10,000 requests → about 1,000 kept (between 800 and 1,200); the caller's sampled traceparent always kept", () => {
    const env = { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" };
    const kept = keptOf(env, 10_000);
    expect(kept).toBeGreaterThan(800);
    expect(kept).toBeLessThan(1_200);
    const { keep } = edge(env);
    expect(Array.from({ length: 50 }, () => keep({ traceparent: SAMPLED }))).toEqual(Array(50).fill(true));
  });

  it("input: traceidratio 0 and always_off → nothing kept; traceidratio 1 and always_on → everything, even a caller's unsampled traceparent (they ignore the parent)", () => {
    expect(keptOf({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" }, 200)).toBe(0);
    expect(keptOf({ OTEL_TRACES_SAMPLER: "always_off" }, 200)).toBe(0);
    expect(keptOf({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1" }, 200)).toBe(200);
    expect(edge({ OTEL_TRACES_SAMPLER: "always_on" }).keep({ traceparent: NOT_SAMPLED })).toBe(true);
  });

  it("input: parentbased_always_off → requests without a traceparent dropped; one with a sampled traceparent kept", () => {
    const { keep } = edge({ OTEL_TRACES_SAMPLER: "parentbased_always_off" });
    expect(keep({})).toBe(false);
    expect(keep({ traceparent: SAMPLED })).toBe(true);
  });

  it("input: a traceparent that does not parse ('garbage', a 31-digit trace id, an all-zero one) → treated as none: kept under parentbased_always_on, dropped under parentbased_always_off, about a tenth kept at traceidratio 0.1", () => {
    const bad = [
      "garbage",
      "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
      `00-${"0".repeat(32)}-b7ad6b7169203331-01`,
    ];
    const on = edge({});
    const off = edge({ OTEL_TRACES_SAMPLER: "parentbased_always_off" });
    for (const traceparent of bad) {
      expect(on.keep({ traceparent })).toBe(true);
      expect(off.keep({ traceparent })).toBe(false);
    }
    const { keep } = edge({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" });
    const kept = Array.from({ length: 10_000 }, () => keep({ traceparent: "garbage" })).filter(Boolean).length;
    expect(kept).toBeGreaterThan(800);
    expect(kept).toBeLessThan(1_200);
  });

  it("the SDK's sampler: a server span (one the edge kept) is sampled; any other root span is the configured sampler's (always_off → dropped)", () => {
    const { sampler } = edge({ OTEL_TRACES_SAMPLER: "always_off" });
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    expect(sampler.shouldSample(ROOT_CONTEXT, traceId, "POST", SpanKind.SERVER, {}, []).decision).toBe(
      samplers.SamplingDecision.RECORD_AND_SAMPLED,
    );
    expect(sampler.shouldSample(ROOT_CONTEXT, traceId, "inbox.batch", SpanKind.INTERNAL, {}, []).decision).toBe(
      samplers.SamplingDecision.NOT_RECORD,
    );
  });

  it.each([
    [{ OTEL_TRACES_SAMPLER: "jaeger_remote" }, "OTEL_TRACES_SAMPLER: jaeger_remote is not supported"],
    [
      { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1.5" },
      "OTEL_TRACES_SAMPLER_ARG: 1.5 is not a ratio",
    ],
    [
      { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "ten" },
      "OTEL_TRACES_SAMPLER_ARG: ten is not a ratio",
    ],
    [
      { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "" },
      "OTEL_TRACES_SAMPLER_ARG:  is not a ratio",
    ],
  ])("input: %j → refused with an error naming the variable", (env, message) => {
    expect(() => samplerFromEnv(env, samplers)).toThrow(message);
  });
});

describe("sampledOnlyContextManager", () => {
  const kept = new samplers.BasicTracerProvider().getTracer("test").startSpan("kept");
  const dropped = trace.wrapSpanContext({
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    traceFlags: 0,
  });
  const suppressedIn = (manager: ReturnType<typeof sampledOnlyContextManager>, active = ROOT_CONTEXT) =>
    manager.with(active, () => core.isTracingSuppressed(manager.active()));

  it("input: requestsOnly (the API) → outside any context tracing is suppressed; in a kept span's context it is not; in a dropped span's it is", () => {
    const manager = sampledOnlyContextManager(contexts, core, { requestsOnly: true }).enable();
    try {
      expect(core.isTracingSuppressed(manager.active())).toBe(true);
      expect(suppressedIn(manager)).toBe(true);
      expect(suppressedIn(manager, trace.setSpan(ROOT_CONTEXT, kept))).toBe(false);
      expect(suppressedIn(manager, trace.setSpan(ROOT_CONTEXT, dropped))).toBe(true);
    } finally {
      manager.disable();
    }
  });

  it("input: no option (the worker, whose jobs start root spans) → outside any context tracing is on; a dropped span's context still suppressed", () => {
    const manager = sampledOnlyContextManager(contexts, core).enable();
    try {
      expect(core.isTracingSuppressed(manager.active())).toBe(false);
      expect(suppressedIn(manager, trace.setSpan(ROOT_CONTEXT, kept))).toBe(false);
      expect(suppressedIn(manager, trace.setSpan(ROOT_CONTEXT, dropped))).toBe(true);
    } finally {
      manager.disable();
    }
  });
});
