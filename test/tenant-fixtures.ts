// What the tenant tests (e2e-tenant*.test.ts) share: keys made with the ops CLI, calls with a key,
// and the stack they run on: tenant suppression scope, a worker, and keys for acme, globex and an admin.
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { type Answer, type ApiClient, OPS_ENV, startStack } from "@mailstate/test-support";
import { runMailstate } from "@mailstate/worker/testing";
import { expect } from "vitest";

export interface CreatedKey {
  id: string;
  key: string;
  tenant: string | null;
  name: string | null;
}

/** `keys create … --json`: its last line. */
export async function createKey(stack: MailstateStack, ...flags: string[]): Promise<CreatedKey> {
  const run = await runMailstate(stack, "keys", "create", ...flags, "--json");
  expect(run, run.stderr).toMatchObject({ code: 0 });
  return JSON.parse(run.stdout.split("\n").at(-1) ?? "");
}

export type Caller = (method: string, path: string, body?: unknown) => Promise<Answer>;

/** Calls to this API with this key. */
export const as =
  (api: ApiClient, key: string): Caller =>
  (method, path, body) =>
    api.call(method, path, body, { authorization: `Bearer ${key}` });

/** A body for POST /v1/notifications to `to`. */
export const send = (to: string) => ({ to, from: "Acme <hello@acme.test>", subject: "Hi" });

export interface Tenants {
  stack: MailstateStack;
  /** acme's key, named acme-billing; globex's, unnamed; an admin key named platform: made in this order. */
  acme: CreatedKey;
  globex: CreatedKey;
  admin: CreatedKey;
  asAcme: Caller;
  asGlobex: Caller;
  asAdmin: Caller;
}

/** A stack in SUPPRESSION_SCOPE=tenant with the ops pages on, a worker, and the three keys. */
export async function startTenants(label: string): Promise<Tenants> {
  const stack = await startStack(label, mailstateSystem, { env: { SUPPRESSION_SCOPE: "tenant", ...OPS_ENV } });
  try {
    await stack.startWorker();
    const acme = await createKey(stack, "--tenant", "acme", "--name", "acme-billing");
    const globex = await createKey(stack, "--tenant", "globex");
    const admin = await createKey(stack, "--admin", "--name", "platform");
    return {
      stack,
      acme,
      globex,
      admin,
      asAcme: as(stack, acme.key),
      asGlobex: as(stack, globex.key),
      asAdmin: as(stack, admin.key),
    };
  } catch (error) {
    // A setup that failed half-way leaves no API or worker running.
    await stack.close();
    throw error;
  }
}
