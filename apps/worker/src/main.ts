// Entry of the worker: OpenTelemetry first, when OTEL_EXPORTER_OTLP_ENDPOINT asks for it, so that its
// instrumentations patch pg, ioredis and express before serve.ts imports them; then the worker itself.
import { startTracingOrExit } from "@mailstate/tracing";

await startTracingOrExit("mailstate-worker", "mailstate worker");
await import("./serve.ts");
