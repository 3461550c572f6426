import { describe, expect, it } from "vitest";
import { wellFormedJson, wellFormedString } from "./well-formed.ts";

describe("wellFormedString", () => {
  it.each([
    ["a lone high surrogate at the end", "Hi \ud83d", "Hi \ufffd"],
    ["a lone low surrogate", "x\ude00y", "x\ufffdy"],
    ["a reversed pair", "\ude00\ud83d", "\ufffd\ufffd"],
    ["U+0000 in a user agent", "Mozilla\u0000/5.0", "Mozilla\ufffd/5.0"],
  ])("%s → U+FFFD in its place", (_label, input, expected) => {
    expect(wellFormedString(input)).toBe(expected);
    expect(JSON.stringify(wellFormedString(input))).not.toMatch(/\\ud[89a-f]/i);
  });

  it("a whole emoji (a surrogate pair) and plain text → unchanged, the same string", () => {
    const text = "Hi 😀 there";
    expect(wellFormedString(text)).toBe(text);
  });
});

describe("wellFormedJson", () => {
  it("a webhook with a cut emoji in its subject and a key → both cleaned, the rest as it was", () => {
    const event = { type: "email.delivered", data: { subject: "Hi \ud83d", tags: { "k\udc00": "v" }, to: ["a@b.c"] } };
    expect(wellFormedJson(event)).toEqual({
      type: "email.delivered",
      data: { subject: "Hi \ufffd", tags: { "k\ufffd": "v" }, to: ["a@b.c"] },
    });
  });

  it("a clean event → the very same object (nothing copied)", () => {
    const event = { type: "email.sent", data: { to: ["a@b.c"], n: 1, ok: true, none: null } };
    expect(wellFormedJson(event)).toBe(event);
  });
});
