#!/usr/bin/env -S node --import tsx
// Entry of `pnpm mailstate <command>`: reads .env when present (variables already set win), runs, exits.
import { existsSync } from "node:fs";
import { runCli } from "./run.ts";

if (existsSync(".env")) process.loadEnvFile(".env");
// `pnpm -s mailstate stats | head`: a reader that stops early is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(0);
});
process.exitCode = await runCli(process.argv.slice(2), process.env, {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
});
