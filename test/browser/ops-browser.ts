// Headless Chromium (Debian's package, driven by playwright-core) signed in as ops, for the tests of
// the support pages: one profile directory of its own, removed on close.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OPS_PASSWORD, OPS_USERNAME } from "@mailstate/test-support";
import { type BrowserContext, chromium, type Page } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

export interface OpsBrowser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Fails naming the package when Chromium is missing (.ci/run installs it). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium (.ci/run does it)`);
  }
}

export async function openOpsBrowser(): Promise<OpsBrowser> {
  requireChromium();
  const userDataDir = await mkdtemp(join(tmpdir(), "mailstate-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
    httpCredentials: { username: OPS_USERNAME, password: OPS_PASSWORD },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}
