#!/usr/bin/env node
// `pnpm start`: the API and the worker side by side, with .env loaded; SIGTERM stops both.
// `pnpm start:api` and `pnpm start:worker` run one of them the same way (`run-all.mjs api|worker`).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

if (existsSync(".env")) process.loadEnvFile(".env");

const APPS = [
  { name: "api", script: "apps/api/src/main.ts" },
  { name: "worker", script: "apps/worker/src/main.ts" },
];
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !APPS.some((app) => app.name === name));
if (unknown.length > 0) {
  console.error(`run-all: unknown app ${unknown.join(", ")} (expected: ${APPS.map((app) => app.name).join(", ")})`);
  process.exit(64);
}
const apps = wanted.length === 0 ? APPS : APPS.filter((app) => wanted.includes(app.name));

const children = apps.map(({ name, script }) => {
  const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "inherit", "inherit"] });
  child.on("exit", (code, signal) => {
    console.error(`[run-all] ${name} exited (${signal ?? code})`);
    if (!stopping) stop("SIGTERM", code ?? 1);
  });
  return child;
});

let stopping = false;
let exitCode = 0;
function stop(signal, code = 0) {
  stopping = true;
  exitCode = code;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGTERM"));
process.on("beforeExit", () => process.exit(exitCode));
