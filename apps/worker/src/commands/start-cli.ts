// What `pnpm mailstate <command>` runs: reads .env when present (variables already set win), starts
// tracing when asked, runs the command, exits.
import { existsSync } from "node:fs";
import { startTracingOrExit, stopTracing } from "@mailstate/tracing";

if (existsSync(".env")) process.loadEnvFile(".env");
// Tracing first (when OTEL_EXPORTER_OTLP_ENDPOINT asks for it), before run.ts imports pg and ioredis.
await startTracingOrExit("mailstate-cli", "mailstate");
const { runCli } = await import("./run.ts");
// `pnpm -s mailstate stats | head`: a reader that stops early is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(0);
});
process.exitCode = await runCli(process.argv.slice(2), process.env, {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
await stopTracing();
