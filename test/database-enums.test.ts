// The database's enums (prisma/schema.prisma, as the generated client spells them) must be the
// machine's lists: a state the machine folds to and PostgreSQL refuses would fail every write of it.
import { DeliveryState, SuppressionReason } from "@mailstate/db";
import { DELIVERY_STATES, SUPPRESSION_REASONS } from "@mailstate/state-machine";
import { describe, expect, it } from "vitest";

describe("the database's copies of the machine's lists", () => {
  it("DeliveryState: the machine's states, in the same order", () => {
    expect(Object.values(DeliveryState)).toEqual([...DELIVERY_STATES]);
  });

  it("SuppressionReason: the suppression policy's reasons, in the same order", () => {
    expect(Object.values(SuppressionReason)).toEqual([...SUPPRESSION_REASONS]);
  });
});
