import { describe, expect, it } from "vitest";
import { assertPublicUrl, isPrivateAddress } from "./public-address.ts";

describe("isPrivateAddress", () => {
  it.each([
    "127.0.0.1",
    "127.255.0.9",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.0.10",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.0.0.1",
    "not an address",
  ])("%s → not public", (address) => {
    expect(isPrivateAddress(address)).toBe(true);
  });

  it.each(["93.184.215.14", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])(
    "%s → public",
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );
});

describe("assertPublicUrl", () => {
  it("refuses a literal private address and says why; allowPrivate lets it pass", async () => {
    await expect(assertPublicUrl("http://10.0.0.1/x", false)).rejects.toThrow(
      "10.0.0.1 is a loopback, private, link-local or unspecified address: refused (OUTBOUND_ALLOW_PRIVATE=true allows it)",
    );
    await expect(assertPublicUrl("http://10.0.0.1/x", true)).resolves.toBeUndefined();
  });

  it("a name that does not resolve is refused, naming it", async () => {
    await expect(assertPublicUrl("http://no-such-host.invalid/x", false)).rejects.toThrow(
      /^no-such-host\.invalid does not resolve \(/,
    );
  });
});
