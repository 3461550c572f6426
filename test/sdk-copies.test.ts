// @mailstate/sdk is published on its own and depends on nothing of mailstate, so it keeps copies of
// a few server rules. Each copy is checked here against its owner.
import { randomUUID } from "node:crypto";
import { MAX_BATCH, MAX_CHECK } from "@mailstate/api/testing";
import { OUTBOUND_EVENT_TYPES, type OutboundEventType } from "@mailstate/db";
import {
  LIMITS,
  NOTIFICATION_TAG,
  normalizeAddress,
  DELIVERY_STATES as SDK_DELIVERY_STATES,
  SUPPRESSION_REASONS as SDK_SUPPRESSION_REASONS,
  type WebhookEventType,
} from "@mailstate/sdk";
import { DELIVERY_STATES, normalizeEmail, SUPPRESSION_REASONS } from "@mailstate/state-machine";
import { eventFor, newSvixId } from "@mailstate/test-support";
import { decodeEvent } from "@mailstate/worker/testing";
import fc from "fast-check";
import { describe, expect, expectTypeOf, it } from "vitest";

// Written by hand: what an address normalizes to, whichever copy does it.
const ADDRESSES: readonly (readonly [string, string])[] = [
  ["Name <Ada@Example.com>", "ada@example.com"],
  ["  ADA@EXAMPLE.COM \t\n", "ada@example.com"],
  ["<Ada@Example.com>", "ada@example.com"],
  ["Ada <  ada@example.com  >", "ada@example.com"],
  ["Name <Ada@Example.com>  \t", "ada@example.com"],
  ['"Doe, Jane" <JANE@example.com>', "jane@example.com"],
  // Several <…>: the last one, and only when the text ends with it.
  ["A <a@x.test> <B@Y.test>", "b@y.test"],
  ["A <a@x.test> trailing", "a <a@x.test> trailing"],
  ["<<a@x.test>>", "<<a@x.test>>"],
  ["Name <Ada@Example.com", "name <ada@example.com"],
  ["a@x.test>", "a@x.test>"],
  ["<>", ""],
  ["", ""],
  ["   ", ""],
  // Unicode: whitespace beyond ASCII is trimmed, letters beyond ASCII lower-cased.
  ["\u00a0ÅSA@EXAMPLE.COM\u3000", "åsa@example.com"],
  ["\ufeff<Ada@Example.com>\u2028", "ada@example.com"],
  ["Zoë <ZOË@Exämple.com>", "zoë@exämple.com"],
  ["İ@x.test", "i\u0307@x.test"],
  ["Ǆ <ǅ@ẞ.test>", "ǆ@ß.test"],
];

// Strings made of what the rule cares about: brackets, whitespace of every kind, case, unicode.
const trickyAddress = fc
  .array(
    fc.constantFrom(
      "<",
      ">",
      "@",
      ".",
      '"',
      ",",
      "A",
      "b",
      "É",
      "İ",
      "ẞ",
      " ",
      "\t",
      "\n",
      "\u00a0",
      "\u2028",
      "\u3000",
      "\ufeff",
      "\u200b",
    ),
    { maxLength: 24 },
  )
  .map((chars) => chars.join(""));

describe("the SDK's copies of server rules", () => {
  it("suppression reasons: the same list, in the same order, as @mailstate/state-machine's", () => {
    expect([...SDK_SUPPRESSION_REASONS]).toEqual([...SUPPRESSION_REASONS]);
  });

  it("delivery states: the same list, in the same order, as @mailstate/state-machine's", () => {
    expect([...SDK_DELIVERY_STATES]).toEqual([...DELIVERY_STATES]);
  });

  it("outbound event names: the SDK's WebhookEventType is the server's OUTBOUND_EVENT_TYPES (a type: pnpm typecheck fails on a difference)", () => {
    expectTypeOf<WebhookEventType>().toEqualTypeOf<OutboundEventType>();
    const sdkTypes: Record<WebhookEventType, true> = {
      "notification.state_changed": true,
      "suppression.created": true,
      "suppression.removed": true,
    };
    expect(Object.keys(sdkTypes).sort()).toEqual([...OUTBOUND_EVENT_TYPES].sort());
  });

  it("batch limits: the SDK splits into calls of at most what /v1 takes (record and attach batches, checks)", () => {
    expect(LIMITS).toEqual({ batch: MAX_BATCH, check: MAX_CHECK });
  });

  it.each([
    ["a list of {name, value}", (id: string) => [{ name: NOTIFICATION_TAG, value: id }]],
    ["an object", (id: string) => ({ [NOTIFICATION_TAG]: id })],
  ])("the notification tag: the worker reads the one the SDK puts on a send, echoed as %s", (_form, tags) => {
    const notificationId = randomUUID();
    const raw = eventFor("email.sent", `re_${randomUUID()}`, 1, { tags: tags(notificationId) });
    const decoded = decodeEvent({ svixId: newSvixId(), receivedAt: new Date(), raw });
    expect(decoded.taggedNotificationId).toBe(notificationId);
  });

  it.each(ADDRESSES)("address normalization: %j → %j, by the owner and by the SDK", (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
    expect(normalizeAddress(input)).toBe(expected);
  });

  it("address normalization: the SDK's copy agrees with the owner on any mix of brackets, spaces, case and unicode", () => {
    fc.assert(
      fc.property(trickyAddress, (input) => {
        expect(normalizeAddress(input)).toBe(normalizeEmail(input));
      }),
      { numRuns: 2_000 },
    );
  });
});
