// Basic auth in front of the ops pages (Bull Board and support), on the real API: no credentials
// and wrong ones answer 401 with a Basic challenge, the right ones get in; without OPS_PASSWORD
// the pages stay shut (503) rather than open.
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { basicAuth as basic, OPS_ENV, OPS_PASSWORD, startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let closed: MailstateStack;

beforeAll(async () => {
  // Many wrong sign-ins on purpose: the throttle (tested in e2e-ops-login-throttle) is set out of the way.
  const env = { ...OPS_ENV, OPS_LOGIN_MAX_FAILURES: "1000" };
  [stack, closed] = await Promise.all([
    startStack("ops_auth", mailstateSystem, { env }),
    startStack("ops_auth_off", mailstateSystem),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.close(), closed?.close()]);
});

async function get(target: MailstateStack, path: string, authorization?: string) {
  const response = await fetch(`${target.baseUrl}${path}`, { headers: authorization ? { authorization } : {} });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe.each(["/support", "/admin/queues", "/admin/queues/api/queues", "/support/notifications/x"])("%s", (path) => {
  it("no credentials → 401 with a Basic challenge", async () => {
    const answer = await get(stack, path);
    expect(answer.status).toBe(401);
    expect(answer.headers.get("www-authenticate")).toMatch(/^Basic realm="mailstate ops"/);
    expect(answer.text).toContain("Sign in");
  });

  it("wrong password, wrong user name, or a malformed header → 401", async () => {
    for (const authorization of [
      basic("support-desk", "correct horse battery stapler"),
      basic("ops", OPS_PASSWORD),
      basic("support-desk", ""),
      "Basic not*base64",
      `Bearer ${OPS_PASSWORD}`,
    ]) {
      const answer = await get(stack, path, authorization);
      expect(answer.status, authorization).toBe(401);
      expect(answer.headers.get("www-authenticate")).toMatch(/^Basic /);
    }
  });

  it("the right credentials → in", async () => {
    const answer = await get(stack, path, basic("support-desk", OPS_PASSWORD));
    // The last path is a support page for an id that is no notification: a readable 404 once in.
    expect(answer.status).toBe(path === "/support/notifications/x" ? 404 : 200);
    expect(answer.headers.get("www-authenticate")).toBeNull();
  });

  it("without OPS_PASSWORD → 503 saying how to switch them on, whatever the credentials", async () => {
    for (const authorization of [undefined, basic("ops", "")]) {
      const answer = await get(closed, path, authorization);
      expect(answer.status).toBe(503);
      expect(answer.text).toContain("OPS_PASSWORD is not set");
    }
  });
});

describe("what is behind the door", () => {
  const auth = basic("support-desk", OPS_PASSWORD);

  it("/admin/queues is Bull Board, over the inbox, unmatched, maintenance and webhooks queues", async () => {
    const page = await get(stack, "/admin/queues", auth);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.text).toContain('<base href="/admin/queues/"');
    // Its scripts and styles are behind the same door, and load with the same credentials.
    const asset = /src="(static\/js\/main\.[^"]+\.js)"/.exec(page.text)?.[1];
    expect(asset).toBeDefined();
    expect((await get(stack, `/admin/queues/${asset}`, auth)).status).toBe(200);
    expect((await get(stack, `/admin/queues/${asset}`)).status).toBe(401);
    const api = await get(stack, "/admin/queues/api/queues?activeQueue=unmatched&status=failed", auth);
    expect(api.status).toBe(200);
    const names = (JSON.parse(api.text) as { queues: { name: string }[] }).queues.map((queue) => queue.name);
    expect(names.sort()).toEqual(["inbox", "maintenance", "unmatched", "webhooks"]);
  });

  it("/support is the search page, sent with no-store and a strict content security policy", async () => {
    const page = await get(stack, "/support", auth);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("cache-control")).toBe("no-store");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.text).toContain("Find a notification");
  });

  it("/v1 does not take the ops credentials, and the ops pages do not take an API key", async () => {
    expect((await stack.call("GET", "/v1/notifications", undefined, { authorization: auth })).status).toBe(401);
    expect((await get(stack, "/support", `Bearer ${stack.apiKey}`)).status).toBe(401);
  });
});
