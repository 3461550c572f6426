// Cross-site request forgery against the ops pages, on the real API: a write whose Origin is not
// the server's own, or whose Sec-Fetch-Site is cross-site or same-site, answers 403 problem+json
// before the sign-in; curl (neither header) and the board's own same-origin requests still work.
// Every ops answer forbids framing and sniffing.
import { type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { basicAuth, OPS_ENV, startStack } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
let proxied: MailstateStack;

beforeAll(async () => {
  [stack, proxied] = await Promise.all([
    startStack("ops_csrf", mailstateSystem, { env: OPS_ENV }),
    startStack("ops_csrf_proxy", mailstateSystem, { env: { ...OPS_ENV, TRUST_PROXY: "loopback" } }),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.close(), proxied?.close()]);
});

const PROMOTE = "/admin/queues/api/queues/unmatched/promote";

async function send(target: MailstateStack, method: string, path: string, headers: Record<string, string>) {
  const response = await fetch(`${target.baseUrl}${path}`, { method, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

describe("writes to /admin/queues and /support from another site", () => {
  it.each([
    [
      "Origin: https://evil.example, Sec-Fetch-Site: cross-site",
      { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
    ],
    ["Origin: https://evil.example", { origin: "https://evil.example" }],
    ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
    ["Sec-Fetch-Site: same-site", { "sec-fetch-site": "same-site" }],
    ["Origin: null", { origin: "null" }],
    ["Origin: the server's host on another port", { origin: "http://127.0.0.1:1" }],
  ])(
    "input: PUT …/unmatched/promote with valid credentials and %s → 403 problem+json cross-site-request",
    async (_label, headers) => {
      const answer = await send(stack, "PUT", PROMOTE, { authorization: basicAuth(), ...headers });
      expect(answer.status).toBe(403);
      expect(answer.headers.get("content-type")).toContain("application/problem+json");
      expect(JSON.parse(answer.text).type).toBe("https://mailstate.dev/problems/cross-site-request");
    },
  );

  it("input: POST /support with Sec-Fetch-Site: cross-site → 403; the same from its own origin → past the check (404: /support takes no writes)", async () => {
    const auth = { authorization: basicAuth() };
    expect((await send(stack, "POST", "/support", { ...auth, "sec-fetch-site": "cross-site" })).status).toBe(403);
    const own = await send(stack, "POST", "/support", {
      ...auth,
      origin: stack.baseUrl,
      "sec-fetch-site": "same-origin",
    });
    expect(own.status).toBe(404);
  });

  it("input: a cross-site write without credentials → 403, before the sign-in (no challenge, not a failed attempt)", async () => {
    const answer = await send(stack, "PUT", PROMOTE, { origin: "https://evil.example" });
    expect(answer.status).toBe(403);
    expect(answer.headers.get("www-authenticate")).toBeNull();
  });

  it("input: PUT …/unmatched/promote from the server's own origin (Origin and Sec-Fetch-Site: same-origin) → 200", async () => {
    const answer = await send(stack, "PUT", PROMOTE, {
      authorization: basicAuth(),
      origin: stack.baseUrl,
      "sec-fetch-site": "same-origin",
    });
    expect(answer.status).toBe(200);
  });

  it("input: PUT …/unmatched/promote as curl sends it (no Origin, no Sec-Fetch-Site) → 200", async () => {
    expect((await send(stack, "PUT", PROMOTE, { authorization: basicAuth() })).status).toBe(200);
  });

  it("input: GET /admin/queues/api/queues with Origin: https://evil.example → 200 (reads are not refused)", async () => {
    const answer = await send(stack, "GET", "/admin/queues/api/queues", {
      authorization: basicAuth(),
      origin: "https://evil.example",
    });
    expect(answer.status).toBe(200);
  });
});

describe("the server's own origin behind a proxy (TRUST_PROXY)", () => {
  const forwarded = { "x-forwarded-proto": "https", "x-forwarded-host": "ops.example.com" };

  it("input: TRUST_PROXY=loopback, X-Forwarded-Proto https and Host ops.example.com, Origin: https://ops.example.com → 200", async () => {
    const answer = await send(proxied, "PUT", PROMOTE, {
      authorization: basicAuth(),
      ...forwarded,
      origin: "https://ops.example.com",
    });
    expect(answer.status).toBe(200);
  });

  it("input: the same with Origin: the proxy-facing http://127.0.0.1:<port> → 403", async () => {
    const answer = await send(proxied, "PUT", PROMOTE, {
      authorization: basicAuth(),
      ...forwarded,
      origin: proxied.baseUrl,
    });
    expect(answer.status).toBe(403);
  });

  it("input: default TRUST_PROXY (none), forwarded headers claiming https://ops.example.com, that Origin → 403 (not believed)", async () => {
    const answer = await send(stack, "PUT", PROMOTE, {
      authorization: basicAuth(),
      ...forwarded,
      origin: "https://ops.example.com",
    });
    expect(answer.status).toBe(403);
  });
});

describe("framing and sniffing", () => {
  it.each([
    ["/admin/queues", true],
    ["/admin/queues/api/queues", true],
    ["/support", true],
    ["/admin/queues", false],
    ["/support", false],
  ])(
    "input: GET %s (signed in: %s) → frame-ancestors 'none', X-Frame-Options DENY, nosniff",
    async (path, signedIn) => {
      const answer = await send(stack, "GET", path, signedIn ? { authorization: basicAuth() } : {});
      expect(answer.status).toBe(signedIn ? 200 : 401);
      expect(answer.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(answer.headers.get("x-frame-options")).toBe("DENY");
      expect(answer.headers.get("x-content-type-options")).toBe("nosniff");
    },
  );
});
