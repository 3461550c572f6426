#!/usr/bin/env node
// `pnpm start`: the compiled API and worker (`pnpm build`'s apps/*/dist) side by side, on plain node,
// with .env loaded, and V8's young generation at 8 MB a half as in the image (see the Dockerfile). `pnpm start:api` and `pnpm start:worker` run one of them (`run-all.mjs api|worker`).
// SIGINT (Ctrl-C) and SIGTERM stop both: each drains, and this exits 0 once both have, so pnpm has
// no failure to report. An app that stops by itself stops the other and passes its exit code on.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

if (existsSync(".env")) process.loadEnvFile(".env");

const APPS = [
  { name: "api", script: "apps/api/dist/main.js" },
  { name: "worker", script: "apps/worker/dist/main.js" },
];
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !APPS.some((app) => app.name === name));
if (unknown.length > 0) {
  console.error(`run-all: unknown app ${unknown.join(", ")} (expected: ${APPS.map((app) => app.name).join(", ")})`);
  process.exit(64);
}
const apps = wanted.length === 0 ? APPS : APPS.filter((app) => wanted.includes(app.name));
const missing = apps.filter((app) => !existsSync(app.script)).map((app) => app.script);
if (missing.length > 0) {
  console.error(`run-all: ${missing.join(", ")} missing: run \`pnpm build\` first (pnpm bootstrap does)`);
  process.exit(78); // EX_CONFIG
}

let stopping = false;
let exitCode = 0;
function stop(signal, code = 0) {
  stopping = true;
  exitCode = code;
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}

const children = apps.map(({ name, script }) => {
  const child = spawn(process.execPath, ["--enable-source-maps", "--max-semi-space-size=8", script], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  child.on("exit", (code, signal) => {
    console.error(`[run-all] ${name} exited (${signal ?? code})`);
    if (!stopping) stop("SIGTERM", code ?? 1);
    // A child that failed while the others drained still fails the run.
    else if (code !== 0 && exitCode === 0) exitCode = code ?? 1;
  });
  return child;
});

// Ctrl-C reaches the children too (one process group): each drains once, whichever signal comes first.
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGTERM"));
process.on("beforeExit", () => process.exit(exitCode));
