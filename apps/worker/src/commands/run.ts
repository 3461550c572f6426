// The ops CLI, `pnpm mailstate <command>`: argument parsing, dispatch and exit codes.
import { parseArgs } from "node:util";
import { EnvError } from "@mailstate/runtime";
import { EMAIL_ADDRESS, normalizeEmail, SUPPRESSION_REASONS } from "@mailstate/state-machine";
import { z } from "zod";
import { CliError, type Context, createContext, EXIT, type Io, messageOf, parseEnvOrThrow } from "./context.ts";
import { erase } from "./erase.ts";
import { importHistory } from "./import.ts";
import { createKey, listKeys, revokeKey } from "./keys.ts";
import { rebuild } from "./rebuild.ts";
import { listDeadLetters, reprocessInvalid, retryDeadLetters } from "./recovery.ts";
import { replayUnmatched } from "./replay-unmatched.ts";
import { retention } from "./retention.ts";
import { stats } from "./stats.ts";
import { listSuppressions, removeSuppression } from "./suppressions.ts";
import { sweep } from "./sweep.ts";
import { listDeliveries, replayMessage } from "./webhooks.ts";

const USAGE = `usage: pnpm mailstate <command> [options]

commands:
  stats [--json]                            queue depths per state (inbox, unmatched), parked events in the log,
                                            notifications by state, suppressions by reason
  replay-unmatched [--email-id <id>]        run every parked event (or those of one Resend email id) now: promote
                   [--wait-ms <ms>] [--json]  delayed unmatched jobs, retry failed ones; report applied vs still unmatched
  rebuild [--write]                         fold every notification's event log again and report the drift;
                                            --write repairs the projections that differ
  suppressions list [--reason <reason>]     the newest suppressions (reason: hard_bounce, soft_bounce_threshold,
    [--tenant <t>] [--limit <n>] [--json]   complaint, manual; limit 1-10000, default 50; --tenant: one tenant's list)
  suppressions remove <email>               take an address off the suppression list (SUPPRESSION_SCOPE=tenant:
                      [--tenant <t>]        off that tenant's list; without --tenant, off the list of every tenant)
  keys create (--tenant <t> | --admin)      a /v1 API key of one tenant (or an admin key, every tenant); the key is
              [--name <n>] [--json]         printed once, as the last line ({"id","key","tenant","name"} with --json)
  keys list [--json]                        ids, tenants, names, last use and revocation of the keys (never the keys)
  keys revoke <id>                          refuse the key from now on (within a second)
  dead-letters list [--all] [--json]        events that could not be applied (open ones; --all: retried ones too)
  dead-letters retry (--all | <svix-id>)    apply them again now, once the cause is fixed; says what each became
                     [--json]
  reprocess --status invalid [--json]       parse the events logged as invalid again (after an upgrade) and apply
                                            those the schema now accepts
  sweep [--dry-run] [--json]                one pass of the sweeper now: ask Resend (emails.get) about stale
                                            notifications and append what it is ahead by; with RESEND_WEBHOOK_ID,
                                            replay the endpoint's failed deliveries; --dry-run writes nothing
  import [--since <date | Nd>]               create a notification for each email Resend lists (emails.list) that none
         [--tenant <t>] [--dry-run]         carries: the emails sent before mailstate was adopted, their state from
         [--json]                           Resend's last_event. --since: only those created since (2026-01-31, 30d);
                                            Ctrl-C stops after a page and the next run resumes; --json's last line is
                                            {"listed","imported","known"}; --dry-run writes nothing
  retention [--dry-run] [--json]            one retention pass now: drop event partitions and delete per-message data
                                            recorded before the cutoff (RETENTION_DAYS, default 90, 00:00 UTC);
                                            prints counts per table and the partitions dropped; --dry-run changes nothing
  webhooks deliveries <endpoint-id>         an outbound endpoint's delivery log, newest first: each message's id,
                      [--limit <n>] [--json]  event, status, attempts, last response code and error
  webhooks replay <message-id>              send an outbound message again, with the same id and body
  erase <email> [--tenant <t>] [--json]     erase an address (as DELETE /v1/recipients/:email): its notifications and
                                            events, parked events, click links, dead letters, outbound messages and
                                            jobs; audit entries keep its sha256; its suppressions stay. Without
                                            --tenant: everywhere. Prints the counts (--json: one object, last)

environment: DATABASE_URL, REDIS_URL, QUEUE_PREFIX, SUPPRESSION_SCOPE, and for sweep and import RESEND_API_KEY,
             RESEND_BASE_URL, RESEND_API_RPS, SWEEPER_STALE_AFTER_MS, RESEND_WEBHOOK_ID, for retention RETENTION_DAYS
             (as the API and the worker;
             .env is read when present)
exit codes: 0 done; 1 done, with a problem to look at (drift found, address not suppressed, jobs not run in time,
            dead letters that failed again, events still invalid, calls to Resend that failed in sweep, an answer
            of Resend that import cannot read); 64 bad usage; 69 PostgreSQL or Redis unreachable; 78 bad environment
            (import: RESEND_API_KEY unset or refused); 130 import stopped by Ctrl-C (run it again to resume)`;

type Command = {
  options: NonNullable<Parameters<typeof parseArgs>[0]>["options"];
  positionals: number;
  /** When fewer may be given: the least. */
  minPositionals?: number;
  run(context: Context, values: Record<string, unknown>, positionals: string[]): Promise<number>;
};

const json = { type: "boolean" } as const;

/** As the API takes a tenant (1 to 200 characters). */
const tenantName = z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters");

const COMMANDS: Record<string, Command> = {
  stats: {
    options: { json },
    positionals: 0,
    run: (context, values) => stats(context, { json: values.json === true }),
  },
  "replay-unmatched": {
    options: { "email-id": { type: "string" }, "wait-ms": { type: "string" }, json },
    positionals: 0,
    run: (context, values) => {
      const emailId = option(
        z.string().trim().min(1, "must not be empty").optional(),
        values["email-id"],
        "--email-id",
      );
      const waitMs = option(
        z.coerce.number().int().min(0).max(600_000).default(30_000),
        values["wait-ms"],
        "--wait-ms",
      );
      return replayUnmatched(context, { waitMs, json: values.json === true, ...(emailId ? { emailId } : {}) });
    },
  },
  rebuild: {
    options: { write: { type: "boolean" } },
    positionals: 0,
    run: (context, values) => rebuild(context, { write: values.write === true }),
  },
  "suppressions list": {
    options: { reason: { type: "string" }, tenant: { type: "string" }, limit: { type: "string" }, json },
    positionals: 0,
    run: (context, values) => {
      const reason = option(z.enum(SUPPRESSION_REASONS).optional(), values.reason, "--reason");
      const tenant = option(tenantName.optional(), values.tenant, "--tenant");
      const limit = option(z.coerce.number().int().min(1).max(10_000).default(50), values.limit, "--limit");
      return listSuppressions(context, {
        limit,
        json: values.json === true,
        ...(reason ? { reason } : {}),
        ...(tenant ? { tenant } : {}),
      });
    },
  },
  "suppressions remove": {
    options: { tenant: { type: "string" } },
    positionals: 1,
    run: (context, values, [address]) => {
      const email = option(
        z.string().transform(normalizeEmail).pipe(z.email("must be an email address")),
        address,
        "<email>",
      );
      return removeSuppression(context, email, option(tenantName.optional(), values.tenant, "--tenant"));
    },
  },
  "keys create": {
    options: { tenant: { type: "string" }, admin: { type: "boolean" }, name: { type: "string" }, json },
    positionals: 0,
    run: (context, values) => {
      if ((values.admin === true) === (values.tenant !== undefined))
        throw new CliError("keys create: give either --tenant <tenant> or --admin", EXIT.usage);
      const tenant = values.admin === true ? null : option(tenantName, values.tenant, "--tenant");
      const name = option(z.string().trim().min(1).max(200).optional(), values.name, "--name") ?? null;
      return createKey(context, { tenant, name, json: values.json === true });
    },
  },
  "keys list": {
    options: { json },
    positionals: 0,
    run: (context, values) => listKeys(context, { json: values.json === true }),
  },
  "keys revoke": {
    options: {},
    positionals: 1,
    run: (context, _values, [id]) => revokeKey(context, option(z.uuid("must be a key id (a UUID)"), id, "<id>")),
  },
  "dead-letters list": {
    options: { all: { type: "boolean" }, json },
    positionals: 0,
    run: (context, values) => listDeadLetters(context, { all: values.all === true, json: values.json === true }),
  },
  "dead-letters retry": {
    options: { all: { type: "boolean" }, json },
    positionals: 1,
    minPositionals: 0,
    run: (context, values, [svixId]) => {
      if ((values.all === true) === (svixId !== undefined))
        throw new CliError("dead-letters retry: give either --all or one svix id", EXIT.usage);
      return retryDeadLetters(context, { json: values.json === true, ...(svixId ? { svixId } : {}) });
    },
  },
  sweep: {
    options: { "dry-run": { type: "boolean" }, json },
    positionals: 0,
    run: (context, values) => sweep(context, { dryRun: values["dry-run"] === true, json: values.json === true }),
  },
  import: {
    options: { since: { type: "string" }, tenant: { type: "string" }, "dry-run": { type: "boolean" }, json },
    positionals: 0,
    run: (context, values) =>
      importHistory(context, {
        since: option(sinceOption(new Date()).optional(), values.since, "--since") ?? null,
        tenant: option(tenantName.optional(), values.tenant, "--tenant") ?? null,
        dryRun: values["dry-run"] === true,
        json: values.json === true,
      }),
  },
  retention: {
    options: { "dry-run": { type: "boolean" }, json },
    positionals: 0,
    run: (context, values) => retention(context, { dryRun: values["dry-run"] === true, json: values.json === true }),
  },
  "webhooks deliveries": {
    options: { limit: { type: "string" }, json },
    positionals: 1,
    run: (context, values, [endpointId]) =>
      listDeliveries(context, {
        endpointId: option(z.uuid("must be a webhook endpoint id (a UUID)"), endpointId, "<endpoint-id>"),
        limit: option(z.coerce.number().int().min(1).max(10_000).default(50), values.limit, "--limit"),
        json: values.json === true,
      }),
  },
  "webhooks replay": {
    options: {},
    positionals: 1,
    run: (context, _values, [messageId]) =>
      replayMessage(
        context,
        option(z.string().regex(/^msg_[0-9a-f]{32}$/, "must be a message id (msg_…)"), messageId, "<message-id>"),
      ),
  },
  erase: {
    options: { tenant: { type: "string" }, json },
    positionals: 1,
    run: (context, values, [address]) => {
      // The API's rule (emailParams): normalized, then one @ and no space or <>,; (addresses with % or _ are real).
      const email = option(
        z.string().max(320).transform(normalizeEmail).pipe(z.string().regex(EMAIL_ADDRESS, "must be an email address")),
        address,
        "<email>",
      );
      const tenant = option(tenantName.optional(), values.tenant, "--tenant") ?? null;
      return erase(context, { email, tenant, json: values.json === true });
    },
  },
  reprocess: {
    options: { status: { type: "string" }, json },
    positionals: 0,
    run: (context, values) => {
      option(z.literal("invalid", { error: "must be invalid" }), values.status, "--status");
      return reprocessInvalid(context, { json: values.json === true });
    },
  },
};

/** Commands of two words: `suppressions list`, `dead-letters retry`, … */
const GROUPS: Record<string, string> = {
  suppressions: "list or remove",
  keys: "create, list or revoke",
  "dead-letters": "list or retry",
  webhooks: "deliveries or replay",
};

/**
 * A point in the past: an ISO-8601 date or date-time (2026-01-31, 2026-01-31T12:00:00Z), or a number
 * of days back from `now` (30d); with the option as written, which an interrupted import keeps.
 */
function sinceOption(now: Date) {
  return z
    .string()
    .trim()
    .transform((value, context) => {
      const days = /^(\d{1,5})d$/.exec(value);
      const at = days
        ? new Date(now.getTime() - Number(days[1]) * 86_400_000)
        : /^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
          ? new Date(value)
          : null;
      if (!at || Number.isNaN(at.getTime())) {
        context.addIssue({
          code: "custom",
          message: `${JSON.stringify(value)} is not a date (2026-01-31) or days (30d)`,
        });
        return z.NEVER;
      }
      if (at > now) {
        context.addIssue({ code: "custom", message: `${value} is in the future: nothing was sent since then` });
        return z.NEVER;
      }
      return { option: value, at };
    });
}

function option<S extends z.ZodType>(schema: S, value: unknown, name: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new CliError(`${name}: ${result.error.issues[0]?.message ?? "invalid"}`, EXIT.usage);
}

function findCommand(argv: string[]): { name: string; command: Command; rest: string[] } {
  const [first, second, ...others] = argv;
  const group = first === undefined ? undefined : GROUPS[first];
  if (group) {
    const name = `${first} ${second ?? ""}`;
    const command = COMMANDS[name];
    if (!command)
      throw new CliError(second ? `unknown ${first} command: ${second} (${group})` : `${first}: ${group}?`, EXIT.usage);
    return { name, command, rest: others };
  }
  const command = first === undefined ? undefined : COMMANDS[first];
  if (!command || first === undefined)
    throw new CliError(first === undefined ? "no command given" : `unknown command: ${first}`, EXIT.usage);
  return { name: first, command, rest: second === undefined ? others : [second, ...others] };
}

export async function runCli(argv: string[], source: NodeJS.ProcessEnv, io: Io): Promise<number> {
  if (argv.length === 0 || argv[0] === "help" || argv.includes("--help") || argv.includes("-h")) {
    (argv.length === 0 ? io.err : io.out)(USAGE);
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  let context: Context | undefined;
  try {
    const { name, command, rest } = findCommand(argv);
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ args: rest, options: command.options ?? {}, allowPositionals: true, strict: true });
    } catch (error) {
      throw new CliError(`${name}: ${messageOf(error).split(". ")[0]}`, EXIT.usage);
    }
    const count = parsed.positionals.length;
    if (count > command.positionals || count < (command.minPositionals ?? command.positionals))
      throw new CliError(
        command.positionals === 0
          ? `${name}: unexpected argument ${parsed.positionals[0]}`
          : `${name}: expected ${command.positionals} argument(s), got ${parsed.positionals.length}`,
        EXIT.usage,
      );
    let env: ReturnType<typeof parseEnvOrThrow>;
    try {
      env = parseEnvOrThrow(source);
    } catch (error) {
      if (error instanceof EnvError) throw new CliError(error.message, EXIT.config);
      throw error;
    }
    context = createContext(env, io);
    return await command.run(context, parsed.values, parsed.positionals);
  } catch (error) {
    if (error instanceof CliError) {
      io.err(`mailstate: ${error.message}`);
      if (error.exitCode === EXIT.usage) io.err("run `pnpm mailstate --help` for the commands");
      return error.exitCode;
    }
    io.err(`mailstate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return EXIT.problem;
  } finally {
    await context?.close();
  }
}
