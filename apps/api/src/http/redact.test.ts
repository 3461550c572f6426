import { performance } from "node:perf_hooks";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { redactAddresses } from "./redact.ts";

describe("redactAddresses: what the request log keeps of a URL", () => {
  it.each([
    ["/v1/suppressions/ada@example.com", "/v1/suppressions/[address]"],
    ["/v1/suppressions/ada%40example.com", "/v1/suppressions/[address]"],
    ["/v1/suppressions/Ada%2Bnews%40Example.COM?x=1", "/v1/suppressions/[address]?x=1"],
    ["/v1/notifications?email=ada@example.com&state=bounced", "/v1/notifications?email=[address]&state=bounced"],
    ["/support?q=bob%40example.com#top", "/support?q=[address]#top"],
    [
      "/v1/notifications/6f1c2e4a-0000-4000-8000-000000000000/timeline",
      "/v1/notifications/6f1c2e4a-0000-4000-8000-000000000000/timeline",
    ],
    ["/v1/notifications?resendEmailId=re_123&cursor=abc", "/v1/notifications?resendEmailId=re_123&cursor=abc"],
    ["/a@b/c@d?e@f=g@h&i#j@k", "/[address]/[address]?[address]=[address]&i#[address]"],
    ["@", "[address]"],
    ["", ""],
  ])("input: %s → logged as %s", (url, logged) => {
    expect(redactAddresses(url)).toBe(logged);
  });

  it("input: any string of URL characters → the same as the former single regex (kept here as the reference)", () => {
    const reference = (url: string) => url.replace(/[^/?&=#]*(?:@|%40)[^/?&=#]*/gi, "[address]");
    const urlish = fc.string({
      unit: fc.constantFrom("a", "@", "%", "4", "0", "/", "?", "&", "=", "#", "."),
      maxLength: 60,
    });
    fc.assert(fc.property(urlish, (url) => redactAddresses(url) === reference(url)));
  });
});

describe("redactAddresses on long hostile URLs", () => {
  /** A path of `bytes` characters: one long segment without `@` (the quadratic case of the old regex), and `@` in several places. */
  const hostileUrl = (bytes: number) => {
    const tail = "/x@y.z?email=a%40b.c&q=d@e#f@g";
    return `/v1/notifications/${"a".repeat(bytes - tail.length - 18)}${tail}`;
  };
  /** Best of five runs, in ms: the least disturbed by whatever else shares the machine. */
  const bestOf = (url: string) =>
    Math.min(
      ...Array.from({ length: 5 }, () => {
        const started = performance.now();
        redactAddresses(url);
        return performance.now() - started;
      }),
    );

  it("input: a 16 KB URL with `@` in four parts → the addresses dropped, the long segment kept", () => {
    const url = hostileUrl(16 * 1024);
    expect(url.length).toBe(16 * 1024);
    expect(redactAddresses(url)).toBe(
      `/v1/notifications/${"a".repeat(16 * 1024 - 48)}/[address]?email=[address]&q=[address]#[address]`,
    );
  });

  it("input: 16 KB and 160 KB URLs → 10× the length costs well under 100× the time (linear, not quadratic), and 16 KB well under the 0.5 s it used to take", () => {
    redactAddresses(hostileUrl(160 * 1024)); // warm-up: compiled code for both runs
    const small = bestOf(hostileUrl(16 * 1024));
    const large = bestOf(hostileUrl(160 * 1024));
    // Linear is a ratio of about 10, quadratic about 100; a floor of 0.05 ms keeps timer jitter out.
    expect(large / Math.max(small, 0.05)).toBeLessThan(40);
    expect(small).toBeLessThan(50);
  });
});
