// The reconciler's rules as the environment sets them: one reading for the worker and for the CLI
// commands that reconcile (dead-letter retry), so that both apply an event the same way.
import { suppressionSyncOf } from "@mailstate/runtime";
import type { ReconcilerDeps } from "./reconciler.ts";

type RulesEnv = Parameters<typeof suppressionSyncOf>[0] & {
  SOFT_BOUNCE_THRESHOLD: number;
  SUPPRESSION_SCOPE: ReconcilerDeps["policy"]["scope"];
  RESEND_AUDIENCE_ID?: string | undefined;
  PARK_UNTAGGED: boolean;
  PARK_MAX_EMAILS: number;
};

/** Suppression policy, parking and what Resend is told (SUPPRESSION_SCOPE, PARK_*, RESEND_SUPPRESSION_SYNC...). */
export function reconcilerRulesOf(env: RulesEnv): Pick<ReconcilerDeps, "policy" | "parking" | "outbound"> {
  const sync = suppressionSyncOf(env);
  return {
    policy: {
      softBounceThreshold: env.SOFT_BOUNCE_THRESHOLD,
      scope: env.SUPPRESSION_SCOPE,
      resendList: sync !== "off",
    },
    parking: { parkUntagged: env.PARK_UNTAGGED, maxParkedEmails: env.PARK_MAX_EMAILS },
    outbound: { pushToResend: sync === "both", audienceId: env.RESEND_AUDIENCE_ID },
  };
}
