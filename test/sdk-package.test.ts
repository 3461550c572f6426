// The SDK as an application outside this repository gets it: `pnpm --filter @mailstate/sdk pack`
// builds JavaScript and types into a tarball, which plain Node (no TypeScript loader) imports and
// uses against the real API.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
let stack: MailstateStack;
let app: string;

beforeAll(async () => {
  stack = await startStack("sdk_package", mailstateSystem);
  app = mkdtempSync(join(tmpdir(), "mailstate-sdk-app-"));
});
afterAll(async () => {
  await stack?.close();
  if (app) rmSync(app, { recursive: true, force: true });
});

describe("the packed SDK", () => {
  it("pack → a tarball of dist/ (JavaScript and .d.ts) whose exports point there; plain node records a notification with it", async () => {
    await run("pnpm", ["--filter", "@mailstate/sdk", "pack", "--pack-destination", app]);
    const target = join(app, "node_modules", "@mailstate", "sdk");
    mkdirSync(target, { recursive: true });
    await run("tar", ["-xzf", join(app, "mailstate-sdk-0.1.0.tgz"), "-C", target, "--strip-components=1"]);
    const manifest = JSON.parse(readFileSync(join(target, "package.json"), "utf8"));
    expect(manifest.exports).toEqual({ ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } });
    expect(readFileSync(join(target, "dist", "index.d.ts"), "utf8")).toContain("createMailstate");

    const script = `
      import { createMailstate, createNoopMailstate } from "@mailstate/sdk";
      const mailstate = createMailstate({ baseUrl: process.env.URL, apiKey: process.env.KEY });
      const recorded = await mailstate.record({ to: "packed@example.com", from: "a@acme.test", subject: "Packed" });
      const noop = await createNoopMailstate().record({ to: "x@example.com", from: "a@acme.test", subject: "x" });
      console.log(JSON.stringify({ status: recorded.status, state: recorded.notification.state, noop: noop.status }));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: app,
      env: { ...process.env, URL: stack.baseUrl, KEY: stack.apiKey, NODE_OPTIONS: "" },
    });
    expect(JSON.parse(stdout)).toEqual({ status: "created", state: "recorded", noop: "disabled" });
  });
});
