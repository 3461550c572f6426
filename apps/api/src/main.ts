// Entry of the api: OpenTelemetry first, when OTEL_EXPORTER_OTLP_ENDPOINT asks for it, so that its
// instrumentations patch pg, ioredis and express before serve.ts imports them; then the api itself.
import { startTracing } from "@mailstate/tracing";

try {
  await startTracing("mailstate-api");
} catch (error) {
  console.error(`mailstate api: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(78); // EX_CONFIG
}
await import("./serve.ts");
