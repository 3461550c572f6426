// Entry of the api: OpenTelemetry first, when OTEL_EXPORTER_OTLP_ENDPOINT asks for it, so that its
// instrumentations patch pg, ioredis and express before serve.ts imports them; then the api itself.
import { startTracingOrExit } from "@mailstate/tracing";

// The API traces requests only: what runs outside a request it kept (one it dropped) makes no span.
await startTracingOrExit("mailstate-api", "mailstate api", { requestsOnly: true });
await import("./serve.ts");
