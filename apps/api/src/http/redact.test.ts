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
  ])("input: %s → logged as %s", (url, logged) => {
    expect(redactAddresses(url)).toBe(logged);
  });
});
