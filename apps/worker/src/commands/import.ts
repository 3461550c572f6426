// `mailstate import [--since <date | Nd>] [--tenant <t>] [--dry-run] [--json]`: the emails the
// account sent through Resend before mailstate was adopted become notifications (resend/history.ts).
// Pages of emails.list, newest first, within RESEND_API_RPS (the limiter the worker's `resend` queue
// uses, so the two together stay within it) with backoff on 429 and 5xx. After each page it writes
// where it got to: Ctrl-C stops after the page in hand, and the next run with the same --since resumes.
import { imports, type SqlPool } from "@mailstate/db";
import { createResendClient, ResendCallError } from "@mailstate/resend-api";
import { createdAtOf, importPage, listPage, UnreadablePageError } from "../resend/history.ts";
import { CliError, type Context, EXIT, fromDb } from "./context.ts";
import { resendPace, withBackoff } from "./pace.ts";
import { noReconciler, reconcilerFor } from "./recovery.ts";

export interface ImportOptions {
  /** Only emails created at or after `at` (the list stops there); `option` as written (30d). */
  since: { option: string; at: Date } | null;
  /** The tenant the notifications belong to (null: none). */
  tenant: string | null;
  dryRun: boolean;
  json: boolean;
}

/** What the run counted (with the counts of the run it resumed). */
interface ImportCounts {
  listed: number;
  imported: number;
  known: number;
}

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
const STOPPED = 130;

export async function importHistory(context: Context, options: ImportOptions): Promise<number> {
  const { env, io } = context;
  if (!env.RESEND_API_KEY)
    throw new CliError(
      "import: RESEND_API_KEY is not set: set it to a Resend API key with full access (emails.list needs it)",
      EXIT.config,
    );
  const client = createResendClient({
    apiKey: env.RESEND_API_KEY,
    baseUrl: env.RESEND_BASE_URL,
    timeoutMs: env.RESEND_API_TIMEOUT_MS,
  });
  const sql = context.sql();
  const { counts, after, resumed, since } = await startingPoint(context, sql, options);
  const progress = createProgress(io, since);
  if (resumed) progress.note(`resuming after email ${after}: ${counts.listed} listed by the run that stopped`);
  // Only a run that writes reconciles (and needs Redis for parking).
  const deps = { sql, reconciler: options.dryRun ? noReconciler : await reconcilerFor(context) };

  // Ctrl-C: finish the page in hand, save where it got to, stop. A second one stops at once.
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(STOPPED);
    stop.abort();
    progress.note("stopping after this page (Ctrl-C again to stop now)");
  };
  process.on("SIGINT", onSigint);
  const pace = await resendPace(context);
  let cursor = after;
  try {
    for (;;) {
      if (stop.signal.aborted) {
        progress.end();
        io.err(
          options.dryRun
            ? "import stopped (dry run: nothing was written)"
            : `import stopped after email ${cursor ?? "(none)"}: run the same command again to resume`,
        );
        report(io, counts, options);
        return STOPPED;
      }
      const page = await withBackoff(pace, () => listPageOrStop(client, cursor), {
        onRetry: (error, delayMs) => progress.note(`${error.message}: trying again in ${delayMs} ms`),
      });
      const inRange = since ? page.data.filter((email) => createdAtOf(email) >= since) : page.data;
      const outcome = await fromDb(
        context,
        importPage(deps, inRange, { tenant: options.tenant, dryRun: options.dryRun }),
      );
      counts.listed += inRange.length;
      counts.imported += outcome.imported;
      counts.known += outcome.known;
      cursor = page.data.at(-1)?.id ?? cursor;
      const finished = !page.has_more || inRange.length < page.data.length || page.data.length === 0;
      if (!options.dryRun) {
        if (finished) await fromDb(context, imports.clearCheckpoint(sql, options.tenant));
        else
          await fromDb(
            context,
            imports.saveCheckpoint(sql, options.tenant, {
              since,
              sinceOption: options.since?.option ?? null,
              afterEmailId: cursor as string,
              ...counts,
            }),
          );
      }
      const [first, last] = [inRange.at(0), inRange.at(-1)];
      progress.page(counts, first ? createdAtOf(first) : null, last ? createdAtOf(last) : null, finished);
      if (finished) break;
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
  progress.end();
  report(io, counts, options);
  return EXIT.ok;
}

/** One page, or the CLI error that says what went wrong with Resend. */
async function listPageOrStop(client: ReturnType<typeof createResendClient>, after: string | undefined) {
  try {
    return await listPage(client, after);
  } catch (error) {
    if (error instanceof UnreadablePageError)
      throw new CliError(`import: ${error.message}; nothing of that page was written`, EXIT.problem);
    if (error instanceof ResendCallError && error.unauthorized)
      throw new CliError(
        `import: Resend refused RESEND_API_KEY (${error.status}): the key is wrong, revoked, or may only send; ` +
          "set a key with full access",
        EXIT.config,
      );
    throw error;
  }
}

/**
 * Where this run starts, and the cutoff it keeps to: after the checkpoint of a run that stopped with
 * --since written the same (`7d` again: with the cutoff that run computed, not 7 days back from now),
 * else at the newest email.
 */
async function startingPoint(
  context: Context,
  sql: SqlPool,
  options: ImportOptions,
): Promise<{ counts: ImportCounts; after: string | undefined; resumed: boolean; since: Date | null }> {
  const since = options.since?.at ?? null;
  const fresh = { counts: { listed: 0, imported: 0, known: 0 }, after: undefined, resumed: false, since };
  if (options.dryRun) return fresh;
  const saved = await fromDb(context, imports.checkpoint(sql, options.tenant));
  if (!saved || saved.sinceOption !== (options.since?.option ?? null) || (saved.since === null) !== (since === null))
    return fresh;
  const { listed, imported, known, afterEmailId } = saved;
  return { counts: { listed, imported, known }, after: afterEmailId, resumed: true, since: saved.since };
}

function report(io: Context["io"], counts: ImportCounts, options: ImportOptions): void {
  if (options.json) {
    io.out(JSON.stringify({ listed: counts.listed, imported: counts.imported, known: counts.known }));
    return;
  }
  const verb = options.dryRun ? "to import" : "imported";
  io.out(
    `${counts.listed} emails listed: ${counts.imported} ${verb}, ${counts.known} already known` +
      (options.dryRun ? " (dry run: nothing written)" : ""),
  );
}

interface Progress {
  /** After a page: the counts so far, the creation times of its newest and oldest emails, and whether it was the last. */
  page(counts: ImportCounts, newestOfPage: Date | null, reached: Date | null, last: boolean): void;
  note(line: string): void;
  end(): void;
}

/**
 * Progress on stderr: on a terminal one line redrawn in place, a bar when --since bounds the run
 * (the share of the time from the newest email back to --since covered so far); otherwise a plain
 * line per page.
 */
function createProgress(io: Context["io"], since: Date | null): Progress {
  const tty = process.stderr.isTTY === true;
  let newest: Date | null = null;
  let drawn = false;
  const describe = (counts: ImportCounts, reached: Date | null) =>
    `${counts.listed} listed, ${counts.imported} imported, ${counts.known} known` +
    (reached ? `, back to ${reached.toISOString().slice(0, 10)}` : "");
  const bar = (reached: Date | null, last: boolean) => {
    if (!since || !newest || !reached) return "";
    const span = newest.getTime() - since.getTime();
    // The list may end before --since: the last page is all of it.
    const share = last || span <= 0 ? 1 : Math.min(1, Math.max(0, (newest.getTime() - reached.getTime()) / span));
    const filled = Math.round(share * 30);
    return `[${"#".repeat(filled)}${"-".repeat(30 - filled)}] ${String(Math.round(share * 100)).padStart(3)}% `;
  };
  const clear = () => {
    if (drawn) process.stderr.write("\r\x1b[2K");
    drawn = false;
  };
  return {
    page(counts, newestOfPage, reached, last) {
      newest ??= newestOfPage;
      if (!tty) return io.err(`import: ${describe(counts, reached)}`);
      clear();
      process.stderr.write(`${bar(reached, last)}${describe(counts, reached)}`);
      drawn = true;
    },
    note(line) {
      if (tty) clear();
      io.err(`import: ${line}`);
    },
    end() {
      if (tty && drawn) process.stderr.write("\n");
      drawn = false;
    },
  };
}
