// What the worker tells Resend after a batch commits (apps/worker/src/resend/outbound.ts), queued
// on the real `resend` queue: only the list every tenant obeys is mirrored to Resend's list, which
// is account-wide; a tenant's own list never is.
import { createLogger } from "@mailstate/runtime";
import { createHarness } from "@mailstate/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreatedSuppression } from "../src/reconcile/side-effects.ts";
import { queueOutbound } from "../src/resend/outbound.ts";
import { type WorkerHarness, workerSystem } from "./testing.ts";

let h: WorkerHarness;
beforeAll(async () => {
  h = await createHarness("outbound", workerSystem);
});
afterAll(async () => {
  await h?.close();
});

const softBounceRun = (email: string, tenant: string | null): CreatedSuppression => ({
  email,
  tenant,
  reason: "soft_bounce_threshold",
  source: "mailstate",
  sourceEventId: `msg_${email}`,
});

describe("RESEND_SUPPRESSION_SYNC=both", () => {
  it("input: soft-bounce runs on the shared list and on tenant acme's list → one resend.add-suppression job, for the shared one", async () => {
    await queueOutbound(
      h.queues,
      createLogger("outbound-test", "silent"),
      { pushToResend: true, audienceId: undefined },
      [softBounceRun("shared@example.com", null), softBounceRun("acme-only@example.com", "acme")],
    );
    const jobs = await h.queues.resend.getJobs(["waiting", "delayed", "prioritized"]);
    expect(jobs.map((job) => [job.name, job.data])).toEqual([
      ["resend.add-suppression", { email: "shared@example.com" }],
    ]);
  });
});
