// The SDK as an application outside this repository gets it: `pnpm --filter @mailstate/sdk pack`
// builds JavaScript and types into a tarball; a throwaway app outside the workspace installs it with
// npm from the tarball only (its dependencies, typescript and resend from the registry), type-checks
// a consumer file under `strict`, and runs it: a send through the official `resend` client against
// the Resend stand-in and a mailstate API started here, and a webhook verified with the SDK.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { createResendStandin, type ResendStandin } from "@mailstate/resend-standin";
import { startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
let stack: MailstateStack;
let standin: ResendStandin;
let app: string;

const SDK_VERSION = JSON.parse(readFileSync(new URL("../packages/sdk/package.json", import.meta.url), "utf8")).version;
const TARBALL = `mailstate-sdk-${SDK_VERSION}.tgz`;

beforeAll(async () => {
  stack = await startStack("sdk_package", mailstateSystem);
  await stack.startWorker();
  standin = await createResendStandin();
  // Outside the workspace: nothing of it resolves from here.
  app = mkdtempSync(join(tmpdir(), "mailstate-sdk-app-"));
});
afterAll(async () => {
  await stack?.close();
  await standin?.close();
  if (app) rmSync(app, { recursive: true, force: true });
});

/** What an application writes: every public name it is likely to touch, typed as it would type them. */
const CONSUMER = `
import { Resend } from "resend";
import { Webhook } from "svix";
import {
  createMailstate,
  createNoopMailstate,
  MailstateError,
  type Mailstate,
  type SendResult,
  type WebhookMessage,
} from "@mailstate/sdk";

const mailstate: Mailstate = createMailstate({ baseUrl: process.env.MAILSTATE_URL, apiKey: process.env.MAILSTATE_KEY });
const resend = new Resend("re_consumer_key");

const sent: SendResult = await mailstate.send(resend, {
  from: "Acme <hello@acme.test>",
  to: "consumer@example.com",
  subject: "Welcome",
  html: "<p>Welcome</p>",
});
if (sent.status !== "sent") throw new Error("not sent: " + sent.status);
const notification = sent.notificationId ? await mailstate.get(sent.notificationId) : null;

// A message signed as mailstate's worker signs one, verified with the SDK.
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const body = JSON.stringify({ type: "suppression.created", timestamp: new Date().toISOString(),
  data: { email: "x@example.com", reason: "hard_bounce", at: new Date().toISOString() } });
const id = "msg_0123456789abcdef0123456789abcdef";
const now = new Date();
const headers = { "webhook-id": id, "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
  "webhook-signature": new Webhook(secret).sign(id, now, body) };
const message: WebhookMessage = mailstate.webhooks.verify(body, headers, secret);
const email: string | null = message.type === "notification.state_changed" ? null : message.data.email;

let refused = "";
try {
  mailstate.webhooks.verify(body, headers, "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
} catch (error) {
  if (error instanceof MailstateError) refused = error.code;
}
const noop = await createNoopMailstate().record({ to: "x@example.com", from: "a@acme.test", subject: "x" });
console.log(JSON.stringify({ status: sent.status, state: notification?.state, email, refused, noop: noop.status }));
`;

describe("the packed SDK, installed from its tarball into an app outside the workspace", () => {
  it("the tarball holds built JavaScript, .d.ts, README, LICENSE and CHANGELOG: no TypeScript sources; its exports point at dist", async () => {
    await run("pnpm", ["--filter", "@mailstate/sdk", "pack", "--pack-destination", app]);
    const { stdout } = await run("tar", ["-tzf", join(app, TARBALL)]);
    const files = stdout.trim().split("\n").sort();
    expect(files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        "package/package.json",
        "package/README.md",
        "package/LICENSE",
        "package/CHANGELOG.md",
        "package/dist/index.js",
        "package/dist/index.d.ts",
        "package/dist/webhooks.js",
        "package/dist/webhooks.d.ts",
      ]),
    );
    expect(
      files.filter(
        (file) => !/^package\/(dist\/[\w-]+\.(js|d\.ts)|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(file),
      ),
    ).toEqual([]);
    const manifest = JSON.parse((await run("tar", ["-xzOf", join(app, TARBALL), "package/package.json"])).stdout);
    expect(manifest).toMatchObject({
      name: "@mailstate/sdk",
      license: "MIT",
      type: "module",
      sideEffects: false,
      engines: { node: ">=22" },
      exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } },
      dependencies: { svix: expect.any(String) },
    });
    expect(manifest.private).toBeUndefined();
    expect(manifest.repository).toMatchObject({ type: "git", directory: "packages/sdk" });
  }, 60_000);

  it("npm install <tarball> typescript resend → tsc --strict accepts a consumer; run, it sends through the stand-in, reaches the API, and verifies a webhook", async () => {
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    writeFileSync(join(app, "consumer.ts"), CONSUMER);
    await run(
      "npm",
      ["install", "--no-audit", "--no-fund", "--prefer-offline", `./${TARBALL}`, "typescript@~5.9.3", "resend@^6.38.0"],
      { cwd: app, env: { ...process.env, NODE_OPTIONS: "" } },
    );
    const tsc = join(app, "node_modules", "typescript", "bin", "tsc");
    // --skipLibCheck: resend's own declarations import React's types, which an app without React lacks
    // (TS2307 'react'); the consumer file is still checked, strictly, against the SDK's declarations.
    const flags = ["--strict", "--module", "nodenext", "--target", "es2022", "--types", "node", "--skipLibCheck"];
    // @types/node is the consumer's own: give it the repository's, as a project would have its own.
    const typeRoots = join(process.cwd(), "node_modules", "@types");
    const checked = await run(
      process.execPath,
      [tsc, ...flags, "--typeRoots", typeRoots, "--outDir", "out", "consumer.ts"],
      {
        cwd: app,
      },
    ).catch((error: { stdout: string }) => ({ stdout: error.stdout, failed: true }));
    expect(checked.stdout).toBe("");
    // The check is real: a consumer that misreads a result's type is refused.
    writeFileSync(join(app, "wrong.ts"), `${CONSUMER}\nconst wrong: number = sent.status;\n`);
    const refused = await run(process.execPath, [tsc, ...flags, "--typeRoots", typeRoots, "--noEmit", "wrong.ts"], {
      cwd: app,
    }).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    expect(refused.stdout).toContain("error TS2322: Type 'string' is not assignable to type 'number'");
    const { stdout } = await run(process.execPath, [join(app, "out", "consumer.js")], {
      cwd: app,
      env: {
        ...process.env,
        NODE_OPTIONS: "",
        MAILSTATE_URL: stack.baseUrl,
        MAILSTATE_KEY: stack.apiKey,
        RESEND_BASE_URL: standin.url,
      },
    });
    expect(JSON.parse(stdout)).toEqual({
      status: "sent",
      state: "recorded",
      email: "x@example.com",
      refused: "webhook_signature_invalid",
      noop: "disabled",
    });
  }, 90_000);

  it("CommonJS require()s it (Node 20.19+ and 22.12+ load ES modules from require)", async () => {
    const script = `
      const { createNoopMailstate, webhooks, MailstateError } = require("@mailstate/sdk");
      let code = "";
      try { webhooks.verify("{}", {}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); } catch (e) { code = e instanceof MailstateError ? e.code : "other"; }
      console.log(JSON.stringify({ enabled: createNoopMailstate().enabled, code }));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=commonjs", "-e", script], {
      cwd: app,
      env: { ...process.env, NODE_OPTIONS: "" },
    });
    expect(JSON.parse(stdout)).toEqual({ enabled: false, code: "webhook_headers_invalid" });
  });
});
