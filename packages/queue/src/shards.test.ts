import { describe, expect, it } from "vitest";
import { inboxRoutingKey, inboxShard, inboxShardIndex, inboxShardsOf, isInboxQueueName } from "./shards.ts";

describe("inbox shards", () => {
  it("input: one shard under {mailstate} → today's queue `inbox` under {mailstate}; three → inbox-0..2 under {mailstate-inbox-0..2}", () => {
    expect(inboxShard("{mailstate}", 1, 0)).toEqual({ name: "inbox", prefix: "{mailstate}" });
    expect([0, 1, 2].map((i) => inboxShard("{mailstate}", 3, i))).toEqual([
      { name: "inbox-0", prefix: "{mailstate-inbox-0}" },
      { name: "inbox-1", prefix: "{mailstate-inbox-1}" },
      { name: "inbox-2", prefix: "{mailstate-inbox-2}" },
    ]);
    // No hash tag: a single Redis only, the prefix is kept.
    expect(inboxShard("mailstate", 2, 1)).toEqual({ name: "inbox-1", prefix: "mailstate" });
  });

  it("input: layouts 1 and 3, then 3 and 5 → every shard once (inbox + inbox-0..2; inbox-0..4)", () => {
    expect(inboxShardsOf("{m}", [1, 3]).map((shard) => shard.name)).toEqual(["inbox", "inbox-0", "inbox-1", "inbox-2"]);
    expect(inboxShardsOf("{m}", [3, 5]).map((shard) => shard.name)).toEqual([
      "inbox-0",
      "inbox-1",
      "inbox-2",
      "inbox-3",
      "inbox-4",
    ]);
    expect(["inbox", "inbox-12", "unmatched", "inbox-x"].map(isInboxQueueName)).toEqual([true, true, false, false]);
  });

  it("routes by email id, else svix id: stable, in range, and spread over the shards", () => {
    const event = (emailId?: string) => ({
      svixId: "msg_1",
      event: { type: "email.sent", data: { email_id: emailId } },
    });
    expect(inboxRoutingKey(event("re_1"), "job")).toBe("re_1");
    expect(inboxRoutingKey(event(undefined), "job")).toBe("msg_1");
    expect(inboxRoutingKey({ emailId: "re_2" }, "job")).toBe("re_2");
    expect(inboxRoutingKey({}, "job")).toBe("job");
    // FNV-1a of "re_1": the same shard on every process and every run.
    expect(inboxShardIndex("re_1", 3)).toBe(inboxShardIndex("re_1", 3));
    expect(inboxShardIndex("anything", 1)).toBe(0);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3_000; i += 1) {
      const shard = inboxShardIndex(`re_${i}`, 3);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    // Each shard within 15% of an even third.
    for (const count of counts) expect(Math.abs(count - 1_000)).toBeLessThan(150);
  });
});
