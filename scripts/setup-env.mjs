#!/usr/bin/env node
// Writes .env from .env.example on first setup, with a fresh webhook secret, API key and ops password.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";

if (existsSync(".env")) {
  console.log(".env exists: left as it is");
  process.exit(0);
}
const fresh = {
  RESEND_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString("base64")}`,
  API_KEYS: `msk_${randomBytes(24).toString("hex")}`,
  OPS_PASSWORD: randomBytes(12).toString("hex"),
};
const text = readFileSync(".env.example", "utf8").replace(/^(\w+)=.*$/gm, (line, key) =>
  key in fresh ? `${key}=${fresh[key]}` : line,
);
writeFileSync(".env", text, { mode: 0o600 });
console.log(".env written with a generated webhook secret, API key and ops password (see the file)");
