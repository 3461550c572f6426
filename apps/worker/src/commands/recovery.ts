// Recovery from events that did not apply: `dead-letters list|retry` and `reprocess --status invalid`.
// Both reconcile in this process, through the worker's own reconciler and rules, and say what each
// event became.
import { type DeadLetterRow, deadLetters, events } from "@mailstate/db";
import { safeParseResendEvent, wellFormedJson } from "@mailstate/resend-events";
import { createLogger } from "@mailstate/runtime";
import type { IncomingEvent } from "../reconcile/decode.ts";
import type { Outcome } from "../reconcile/reconcile-events.ts";
import { createReconciler, type Reconciler } from "../reconcile/reconciler.ts";
import { reconcilerRulesOf } from "../reconcile/rules-from-env.ts";
import { reconcileOrDeadLetter } from "../reconcile-or-dead-letter.ts";
import { type Context, EXIT, fromDb } from "./context.ts";

/** Events reconciled per transaction. */
const PAGE = 100;

export async function reconcilerFor(context: Context): Promise<Reconciler> {
  return createReconciler({
    sql: context.sql(),
    queues: await context.queues(),
    logger: createLogger("mailstate-cli", "silent"),
    ...reconcilerRulesOf(context.env),
  });
}

/** What a dry run passes for a reconciler: it never reconciles. */
export const noReconciler: Reconciler = {
  joinBatch: () => Promise.reject(new Error("dry run: nothing is reconciled")),
  reprocess: () => Promise.reject(new Error("dry run: nothing is reconciled")),
  replay: () => Promise.reject(new Error("dry run: nothing is reconciled")),
};

function describe(letter: DeadLetterRow): string {
  const resolved = letter.resolvedAt ? `  resolved ${letter.resolvedAt.toISOString()} (${letter.resolution})` : "";
  return [
    `${letter.svixId}  ${letter.eventType ?? "(no type)"}  email ${letter.emailId ?? "-"}`,
    `  ${letter.cause}${letter.errorCode ? ` ${letter.errorCode}` : ""}: ${letter.error}`,
    `  failed ${letter.firstFailedAt.toISOString()} (last ${letter.lastFailedAt.toISOString()}, ${letter.attempts} attempts)${resolved}`,
  ].join("\n");
}

export async function listDeadLetters(
  context: Context,
  { all, json }: { all: boolean; json: boolean },
): Promise<number> {
  const rows = await fromDb(context, deadLetters.list(context.sql(), { includeResolved: all, limit: 10_000 }));
  const { out } = context.io;
  if (json) out(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) out(all ? "no dead letters" : "no open dead letters");
  else for (const row of rows) out(describe(row));
  return EXIT.ok;
}

interface RetryReport {
  retried: number;
  outcomes: Record<string, Outcome | "failed_again" | "unreadable">;
}

/** The dead letter's body as an event to reconcile, or null when it is not a JSON object. */
function incomingOf(letter: DeadLetterRow): IncomingEvent | null {
  try {
    const raw: unknown = JSON.parse(letter.body);
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return null;
    return {
      svixId: letter.svixId,
      receivedAt: letter.receivedAt ?? letter.firstFailedAt,
      raw: raw as IncomingEvent["raw"],
    };
  } catch {
    return null;
  }
}

export async function retryDeadLetters(
  context: Context,
  { svixId, json }: { svixId?: string; json: boolean },
): Promise<number> {
  const sql = context.sql();
  const letters = await fromDb(context, deadLetters.list(sql, { limit: 100_000, ...(svixId ? { svixId } : {}) }));
  const { out, err } = context.io;
  if (svixId && letters.length === 0) {
    err(`no open dead letter has svix id ${svixId}`);
    return EXIT.problem;
  }
  const reconciler = await reconcilerFor(context);
  const report: RetryReport = { retried: letters.length, outcomes: {} };
  await fromDb(
    context,
    Promise.all(
      letters.map(async (letter) => {
        const incoming = incomingOf(letter);
        if (!incoming) {
          report.outcomes[letter.svixId] = "unreadable";
          return;
        }
        const { outcome } = await reconcileOrDeadLetter(reconciler, sql, incoming, 1);
        if (outcome === "dead_lettered") {
          report.outcomes[letter.svixId] = "failed_again";
          return;
        }
        await deadLetters.resolve(sql, letter.svixId, outcome);
        report.outcomes[letter.svixId] = outcome;
      }),
    ),
  );
  const failed = Object.values(report.outcomes).filter(
    (outcome) => outcome === "failed_again" || outcome === "unreadable",
  );
  if (json) out(JSON.stringify(report, null, 2));
  else if (letters.length === 0) out("no open dead letters");
  else for (const [id, outcome] of Object.entries(report.outcomes)) out(`${id}  ${outcome}`);
  if (failed.length > 0) err(`${failed.length} still dead-lettered: see \`pnpm mailstate dead-letters list\``);
  return failed.length > 0 ? EXIT.problem : EXIT.ok;
}

interface ReprocessReport {
  checked: number;
  reprocessed: number;
  outcomes: Partial<Record<Outcome, number>>;
  stillInvalid: number;
}

/** Parse the events logged as invalid again; reconcile those the schema accepts now. */
export async function reprocessInvalid(context: Context, { json }: { json: boolean }): Promise<number> {
  const db = context.db();
  const reconciler = await reconcilerFor(context);
  const report: ReprocessReport = { checked: 0, reprocessed: 0, outcomes: {}, stillInvalid: 0 };
  let afterSvixId: string | undefined;
  for (;;) {
    const page = await fromDb(
      context,
      events.listByStatus(db, "invalid", { limit: PAGE, ...(afterSvixId ? { afterSvixId } : {}) }),
    );
    if (page.length === 0) break;
    afterSvixId = page.at(-1)?.svixId;
    report.checked += page.length;
    const parsable = page.filter((row) => safeParseResendEvent(wellFormedJson(row.payload)).success);
    report.stillInvalid += page.length - parsable.length;
    if (parsable.length === 0) continue;
    const outcomes = await reconciler.reprocess(
      parsable.map((row) => ({
        svixId: row.svixId,
        receivedAt: row.receivedAt,
        raw: row.payload as IncomingEvent["raw"],
      })),
    );
    for (const outcome of outcomes.values()) {
      report.reprocessed += 1;
      report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
    }
  }
  const { out } = context.io;
  if (json) out(JSON.stringify(report, null, 2));
  else {
    const outcomes = Object.entries(report.outcomes).map(([outcome, count]) => `${outcome} ${count}`);
    out(`invalid events checked: ${report.checked}`);
    out(`reprocessed: ${report.reprocessed}${outcomes.length ? ` (${outcomes.join(", ")})` : ""}`);
    out(`still invalid: ${report.stillInvalid}${report.stillInvalid ? " (their schema still rejects them)" : ""}`);
  }
  return report.stillInvalid > 0 ? EXIT.problem : EXIT.ok;
}
