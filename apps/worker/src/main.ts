// Entry of the worker: OpenTelemetry first, when OTEL_EXPORTER_OTLP_ENDPOINT asks for it, so that its
// instrumentations patch pg, ioredis and express before serve.ts imports them; then the worker itself.
import { startTracing } from "@mailstate/tracing";

try {
  await startTracing("mailstate-worker");
} catch (error) {
  console.error(`mailstate worker: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(78); // EX_CONFIG
}
await import("./serve.ts");
