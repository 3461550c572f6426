// `mailstate erase <email> [--tenant <t>] [--json]`: what DELETE /v1/recipients/:email does (the same
// eraseRecipient and eraseJobs), as the ops CLI. Without --tenant it erases everywhere, as an admin key.
import { eraseRecipient } from "@mailstate/db";
import { eraseJobs } from "@mailstate/queue";
import { type Context, EXIT, fromDb } from "./context.ts";
import { cliActor } from "./keys.ts";

export async function erase(
  context: Context,
  { email, tenant, json }: { email: string; tenant: string | null; json: boolean },
): Promise<number> {
  const queues = await context.queues();
  const redis = await context.redis();
  const report = await fromDb(
    context,
    eraseRecipient(context.sql(), { email, tenant, actor: cliActor() }, (targets) =>
      eraseJobs(queues, redis, context.env.QUEUE_PREFIX, targets),
    ),
  );
  const { out } = context.io;
  if (json) {
    out(JSON.stringify(report));
    return EXIT.ok;
  }
  out(`erased ${report.email} ${tenant === null ? "everywhere" : `within tenant ${tenant}`}:`);
  const width = Math.max(...Object.keys(report.erased).map((kind) => kind.length));
  for (const [kind, count] of Object.entries(report.erased)) out(`  ${kind.padEnd(width)}  ${count}`);
  out("its suppression rows stay; the audit log records the erasure under its sha256");
  return EXIT.ok;
}
