// `mailstate sweep [--dry-run] [--json]`: one pass of the sweeper (and of the webhook delivery
// audit) by hand, in this process, within RESEND_API_RPS (shared with the workers). --dry-run asks
// Resend but writes nothing and replays nothing: it says what a pass would heal and replay.
import { notificationSweep } from "@mailstate/db";
import { createResendClient, ResendCallError } from "@mailstate/resend-api";
import { createLogger } from "@mailstate/runtime";
import { createWorkerMetrics } from "../metrics.ts";
import {
  type CheckResult,
  checkEmail,
  failedDeliveries,
  replayDelivery,
  SWEEP_LIMIT,
  type SweeperDeps,
} from "../resend/sweeper.ts";
import { CliError, type Context, EXIT, fromDb, messageOf } from "./context.ts";
import { resendPace } from "./pace.ts";
import { noReconciler, reconcilerFor } from "./recovery.ts";

interface SweepReport {
  dryRun: boolean;
  candidates: number;
  healed: CheckResult[];
  current: number;
  notFound: string[];
  errors: { notificationId: string; error: string }[];
  webhook: { id: string; failed: number; replayed: string[]; errors: string[] } | null;
}

export async function sweep(context: Context, { dryRun, json }: { dryRun: boolean; json: boolean }): Promise<number> {
  const { env, io } = context;
  if (!env.RESEND_API_KEY)
    throw new CliError("sweep: RESEND_API_KEY is not set: nothing to ask Resend with", EXIT.config);
  const deps: SweeperDeps = {
    sql: context.sql(),
    // Only a pass that writes reconciles (and needs Redis for parking).
    reconciler: dryRun ? noReconciler : await reconcilerFor(context),
    client: createResendClient({
      apiKey: env.RESEND_API_KEY,
      baseUrl: env.RESEND_BASE_URL,
      timeoutMs: env.RESEND_API_TIMEOUT_MS,
    }),
    metrics: createWorkerMetrics(),
    logger: createLogger("mailstate-cli", "silent"),
    staleAfterMs: env.SWEEPER_STALE_AFTER_MS,
    webhookId: env.RESEND_WEBHOOK_ID,
  };
  const pace = await resendPace(context);
  const candidates = await fromDb(
    context,
    notificationSweep.sweepCandidates(deps.sql, { staleAfterMs: env.SWEEPER_STALE_AFTER_MS, limit: SWEEP_LIMIT }),
  );
  const report: SweepReport = {
    dryRun,
    candidates: candidates.length,
    healed: [],
    current: 0,
    notFound: [],
    errors: [],
    webhook: null,
  };
  for (const candidate of candidates) {
    await pace();
    try {
      const result = await checkEmail(
        deps,
        { notificationId: candidate.id, emailId: candidate.resendEmailId },
        { dryRun },
      );
      if (result.outcome === "healed") report.healed.push(result);
      else if (result.outcome === "not_found") report.notFound.push(candidate.id);
      else report.current += 1;
    } catch (error) {
      report.errors.push({ notificationId: candidate.id, error: messageOf(error) });
    }
  }
  if (deps.webhookId) report.webhook = await audit(deps, deps.webhookId, { dryRun, pace });

  if (json) io.out(JSON.stringify(report));
  else printReport(io.out, report);
  return report.errors.length > 0 || (report.webhook?.errors.length ?? 0) > 0 ? EXIT.problem : EXIT.ok;
}

async function audit(
  deps: SweeperDeps,
  webhookId: string,
  { dryRun, pace }: { dryRun: boolean; pace: () => Promise<void> },
): Promise<NonNullable<SweepReport["webhook"]>> {
  const result = { id: webhookId, failed: 0, replayed: [] as string[], errors: [] as string[] };
  try {
    await pace();
    const failed = await failedDeliveries(deps, webhookId);
    result.failed = failed.length;
    for (const delivery of failed) {
      if (dryRun) {
        result.replayed.push(delivery.id);
        continue;
      }
      await pace();
      if (await replayDelivery(deps, webhookId, delivery)) result.replayed.push(delivery.id);
    }
  } catch (error) {
    result.errors.push(error instanceof ResendCallError ? error.message : messageOf(error));
  }
  return result;
}

function printReport(out: (line: string) => void, report: SweepReport): void {
  const verb = report.dryRun ? "would append" : "appended";
  for (const item of report.healed)
    out(`${item.notificationId}  email ${item.emailId}  Resend: ${item.lastEvent}  ${verb} ${item.appended}`);
  for (const id of report.notFound)
    out(`${id}  Resend does not know its email (404)${report.dryRun ? "" : ": recorded"}`);
  for (const { notificationId, error } of report.errors) out(`${notificationId}  error: ${error}`);
  out(
    `${report.candidates} stale notifications asked about: ${report.healed.length} ${report.dryRun ? "to heal" : "healed"}, ` +
      `${report.current} current, ${report.notFound.length} unknown to Resend, ${report.errors.length} errors` +
      (report.dryRun ? " (dry run: nothing written)" : ""),
  );
  if (report.webhook)
    out(
      `webhook ${report.webhook.id}: ${report.webhook.failed} failed deliveries, ` +
        `${report.webhook.replayed.length} ${report.dryRun ? "to replay" : "replayed"}` +
        (report.webhook.errors.length > 0 ? `; error: ${report.webhook.errors.join("; ")}` : ""),
    );
}
