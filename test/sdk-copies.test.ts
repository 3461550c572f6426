// @mailstate/sdk is published on its own and depends on nothing of mailstate, so it keeps copies of
// a few server rules. Each copy is checked here against its owner.
import { SUPPRESSION_REASONS as SDK_SUPPRESSION_REASONS } from "@mailstate/sdk";
import { SUPPRESSION_REASONS } from "@mailstate/state-machine";
import { describe, expect, it } from "vitest";

describe("the SDK's copies of server rules", () => {
  it("suppression reasons: the same list, in the same order, as @mailstate/state-machine's", () => {
    expect([...SDK_SUPPRESSION_REASONS]).toEqual([...SUPPRESSION_REASONS]);
  });
});
