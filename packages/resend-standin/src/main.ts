// Runs the stand-in on its own, configured by the environment (see env.ts); prints its counters on exit.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadEnvOrExit } from "@mailstate/runtime";
import { standinOptionsFromEnv } from "./env.ts";
import { createResendStandin, type ResendStandin } from "./index.ts";

// The repository's .env (for RESEND_WEBHOOK_SECRET); variables already set win.
const dotenv = fileURLToPath(new URL("../../../.env", import.meta.url));
if (existsSync(dotenv)) process.loadEnvFile(dotenv);

const options = loadEnvOrExit(standinOptionsFromEnv, "resend stand-in");

let standin: ResendStandin;
try {
  standin = await createResendStandin(options);
} catch (error) {
  if (!(error instanceof RangeError)) throw error;
  console.error(`resend stand-in: ${error.message}`);
  process.exit(78);
}
console.log(`resend stand-in listening on ${standin.url} (new Resend(key, { baseUrl: "${standin.url}" }))`);
console.log(
  options.webhook ? `posting webhooks to ${options.webhook.url}` : "no webhooks (RESEND_STANDIN_WEBHOOK_URL unset)",
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`webhooks: ${JSON.stringify(standin.counters)}`);
  await standin.close();
  process.exit(0);
}
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
