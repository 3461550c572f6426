import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { credentialsMatch, parseBasicAuth } from "./basic-auth.ts";

const header = (credentials: string) => `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`;
const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

describe("parseBasicAuth", () => {
  it("reads user and password, the password keeping any colon and non-ASCII character", () => {
    expect(parseBasicAuth(header("ops:pa:ss wörd"))).toEqual({ username: "ops", password: "pa:ss wörd" });
    expect(parseBasicAuth(`basic   ${Buffer.from("ops:x").toString("base64")}  `)).toEqual({
      username: "ops",
      password: "x",
    });
  });

  it("answers null for no header, another scheme, no colon or not base64", () => {
    for (const value of [undefined, "", "Bearer abc", header("no-colon"), "Basic !!!", "Basic"]) {
      expect(parseBasicAuth(value), String(value)).toBeNull();
    }
  });
});

describe("credentialsMatch", () => {
  const expected = { username: digest("ops"), password: digest("s3cret-password") };
  it("needs both parts right", () => {
    expect(credentialsMatch({ username: "ops", password: "s3cret-password" }, expected)).toBe(true);
    expect(credentialsMatch({ username: "ops", password: "s3cret-passwore" }, expected)).toBe(false);
    expect(credentialsMatch({ username: "opz", password: "s3cret-password" }, expected)).toBe(false);
    expect(credentialsMatch({ username: "ops", password: "" }, expected)).toBe(false);
  });
});
