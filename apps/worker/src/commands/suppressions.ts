// `mailstate suppressions list [--reason] [--tenant] [--limit]` and `mailstate suppressions remove
// <email> [--tenant]`. A removal is written to the audit log, as the API's are.
import { auditLog, listOf, ops, type SuppressionReason, suppressions } from "@mailstate/db";
import { queueSuppressionMirror } from "@mailstate/queue";
import { suppressionSyncOf } from "@mailstate/runtime";
import { CliError, type Context, EXIT, fromDb, messageOf } from "./context.ts";
import { cliActor } from "./keys.ts";

/** In global scope there is one list, so `--tenant` would name nothing: refused rather than ignored. */
function listFor(context: Context, tenant: string | undefined): string | null {
  if (tenant !== undefined && context.env.SUPPRESSION_SCOPE === "global")
    throw new CliError("--tenant: SUPPRESSION_SCOPE is global, so there is one list for every tenant", EXIT.usage);
  return tenant ?? null;
}

export async function listSuppressions(
  context: Context,
  { reason, tenant, limit, json }: { reason?: SuppressionReason; tenant?: string; limit: number; json: boolean },
): Promise<number> {
  listFor(context, tenant);
  const rows = await fromDb(
    context,
    ops.listSuppressions(context.db(), {
      limit,
      ...(reason === undefined ? {} : { reason }),
      ...(tenant === undefined ? {} : { tenant }),
    }),
  );
  const { out } = context.io;
  if (json) {
    out(JSON.stringify(rows, null, 2));
    return EXIT.ok;
  }
  if (rows.length === 0) {
    out(reason ? `no suppressions with reason ${reason}` : "no suppressions");
    return EXIT.ok;
  }
  const width = Math.max(...rows.map((row) => row.email.length));
  const scoped = context.env.SUPPRESSION_SCOPE === "tenant";
  out(`${"email".padEnd(width)}  ${"reason".padEnd(21)}  ${"since".padEnd(24)}${scoped ? "  list" : ""}`);
  for (const row of rows)
    out(
      `${row.email.padEnd(width)}  ${row.reason.padEnd(21)}  ${row.createdAt.toISOString().padEnd(24)}` +
        `${scoped ? `  ${row.tenant ?? "(every tenant)"}` : ""}`,
    );
  out(`${rows.length} shown${rows.length === limit ? ` (the newest ${limit}; --limit for more)` : ""}`);
  return EXIT.ok;
}

/**
 * Take an address off a list: in tenant scope the tenant's (`--tenant`), else the null list every
 * tenant obeys. Exit 0 when the address was on it and no longer is, 1 when it was not.
 */
export async function removeSuppression(context: Context, email: string, tenant?: string): Promise<number> {
  const view = { scope: context.env.SUPPRESSION_SCOPE, tenant: listFor(context, tenant) };
  const list = listOf(view);
  const db = context.db();
  const removed = await fromDb(
    context,
    db.$transaction(async (tx) => {
      const done = await suppressions.remove(tx, email, view);
      if (done) await auditLog.record(tx, { action: "suppression.removed", actor: cliActor(), tenant: list, email });
      return done;
    }),
  );
  const where =
    view.scope === "global"
      ? "the suppression list"
      : list === null
        ? "the list of every tenant"
        : `tenant ${list}'s list`;
  if (removed) {
    context.io.out(`removed ${email} from ${where}`);
    // RESEND_SUPPRESSION_SYNC=both: Resend's account-wide list loses it too (a job on the resend queue).
    if (list === null && suppressionSyncOf(context.env) === "both") {
      try {
        await queueSuppressionMirror(await context.queues(), "remove", email);
        context.io.out(`queued its removal from Resend's suppression list`);
      } catch (error) {
        context.io.err(`could not queue its removal from Resend's list: ${messageOf(error)}`);
      }
    }
    return EXIT.ok;
  }
  context.io.err(view.scope === "global" ? `${email} is not suppressed` : `${email} is not on ${where}`);
  return EXIT.problem;
}
