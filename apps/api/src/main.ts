// Entry of the api: OpenTelemetry first, when OTEL_EXPORTER_OTLP_ENDPOINT asks for it, so that its
// instrumentations patch pg, ioredis and express before serve.ts imports them; then the api itself.
import { startTracingOrExit } from "@mailstate/tracing";

await startTracingOrExit("mailstate-api", "mailstate api");
await import("./serve.ts");
