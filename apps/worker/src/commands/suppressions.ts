// `mailstate suppressions list [--reason] [--limit]` and `mailstate suppressions remove <email>`.
import { ops, type SuppressionReason, suppressions } from "@mailstate/db";
import { type Context, EXIT, fromDb } from "./context.ts";

export async function listSuppressions(
  context: Context,
  { reason, limit, json }: { reason?: SuppressionReason; limit: number; json: boolean },
): Promise<number> {
  const rows = await fromDb(
    context,
    ops.listSuppressions(context.db(), { limit, ...(reason === undefined ? {} : { reason }) }),
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
  out(`${"email".padEnd(width)}  ${"reason".padEnd(21)}  since`);
  for (const row of rows) out(`${row.email.padEnd(width)}  ${row.reason.padEnd(21)}  ${row.createdAt.toISOString()}`);
  out(`${rows.length} shown${rows.length === limit ? ` (the newest ${limit}; --limit for more)` : ""}`);
  return EXIT.ok;
}

/** Exit 0 when the address was suppressed and no longer is, 1 when it was not suppressed. */
export async function removeSuppression(context: Context, email: string): Promise<number> {
  const removed = await fromDb(context, suppressions.remove(context.db(), email));
  if (removed) {
    context.io.out(`removed ${email} from the suppression list`);
    return EXIT.ok;
  }
  context.io.err(`${email} is not suppressed`);
  return EXIT.problem;
}
