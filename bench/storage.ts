// `pnpm bench:storage`: how many bytes of PostgreSQL one email costs for its whole life, table by table.
//
// The API and the worker run as real processes on a database of their own. EMAILS sends are recorded
// through the API (16 in flight), then each gets the webhooks of a typical life, as Resend posts them:
// sent, delivered, opened twice, clicked (real-shaped bodies: the message id, tags, the click's link, IP
// address and user agent). Once every notification shows them, the tables are vacuumed (as autovacuum
// would) and measured: heap, TOAST and each index, partitions summed into their table, less what the
// same tables held before the first send. Env: BENCH_STORAGE_EMAILS (2000); BENCH_STORAGE_JSON=1 prints
// one JSON object last; BENCH_STORAGE_KEEP=1 keeps the database (its name printed) to look into.
import { randomUUID } from "node:crypto";
import { freePort, type WorkloadEvent } from "@mailstate/test-support";
import type pg from "pg";
import { apiRequests, fire, sign } from "./load.ts";
import { openBenchRun, sleep, startProcess, stopProcesses, tearDownRun, waitHealthy } from "./processes.ts";

/** Read once here: these knobs are the run's, not a build input. */
const env = process.env;
const EMAILS = Number(env.BENCH_STORAGE_EMAILS ?? 2_000);
const LIFE = ["email.sent", "email.delivered", "email.opened", "email.opened", "email.clicked"] as const;

interface Email {
  emailId: string;
  to: string;
  sentAt: number;
}

const svixId = () => `msg_${randomUUID().replaceAll("-", "").slice(0, 27)}`;

/** Resend's body for one event of one email, the fields it really carries. */
function body(email: Email, type: (typeof LIFE)[number], step: number): Record<string, unknown> {
  const at = new Date(email.sentAt + step * 60_000).toISOString();
  const data: Record<string, unknown> = {
    email_id: email.emailId,
    created_at: new Date(email.sentAt).toISOString(),
    from: "Acme <receipts@acme.dev>",
    to: [email.to],
    subject: "Your receipt from Acme",
    message_id: `<0100019ab8d5c6f1-${email.emailId}-000000@email.amazonses.com>`,
    tags: { category: "receipt" },
  };
  if (type === "email.clicked") {
    data.click = {
      ipAddress: "122.115.53.11",
      link: `https://acme.dev/orders/${email.emailId.slice(0, 8)}?utm_source=receipt`,
      timestamp: at,
      userAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
    };
  }
  return { type, created_at: at, data };
}

/** What each table (its partitions summed in) holds: heap, TOAST, and each index. */
interface TableBytes {
  heap: number;
  toast: number;
  indexes: Record<string, number>;
}

/**
 * Every table of the public schema that is not a partition, with its partitions summed in (for a plain
 * table pg_partition_tree answers no rows, hence the union with itself). Each index of a partition is
 * counted under its parent index's name (a partitioned index's own size is 0).
 */
async function tableBytes(pool: pg.Pool): Promise<Map<string, TableBytes>> {
  const { rows } = await pool.query<{ tbl: string; heap: string; toast: string }>(
    `SELECT top.relname AS tbl,
            sum(pg_relation_size(p.relid))::bigint AS heap,
            sum(COALESCE(pg_total_relation_size(c.reltoastrelid), 0))::bigint AS toast
       FROM pg_class top
       JOIN pg_namespace ns ON ns.oid = top.relnamespace AND ns.nspname = 'public'
       CROSS JOIN LATERAL (SELECT relid FROM pg_partition_tree(top.oid) UNION SELECT top.oid) p
       JOIN pg_class c ON c.oid = p.relid
      WHERE top.relkind IN ('r', 'p') AND NOT top.relispartition AND top.relname <> '_prisma_migrations'
      GROUP BY top.relname`,
  );
  const { rows: indexRows } = await pool.query<{ tbl: string; idx: string; bytes: string }>(
    `SELECT top.relname AS tbl, topidx.relname AS idx, sum(pg_relation_size(p.relid))::bigint AS bytes
       FROM pg_class top
       JOIN pg_namespace ns ON ns.oid = top.relnamespace AND ns.nspname = 'public'
       JOIN pg_index i ON i.indrelid = top.oid
       JOIN pg_class topidx ON topidx.oid = i.indexrelid
       CROSS JOIN LATERAL (SELECT relid FROM pg_partition_tree(topidx.oid) UNION SELECT topidx.oid) p
      WHERE top.relkind IN ('r', 'p') AND NOT top.relispartition
      GROUP BY top.relname, topidx.relname`,
  );
  const tables = new Map<string, TableBytes>();
  for (const row of rows) tables.set(row.tbl, { heap: Number(row.heap), toast: Number(row.toast), indexes: {} });
  for (const row of indexRows) {
    const table = tables.get(row.tbl);
    if (table) table.indexes[row.idx] = Number(row.bytes);
  }
  return tables;
}

const totalOf = (table: TableBytes) =>
  table.heap + table.toast + Object.values(table.indexes).reduce((sum, bytes) => sum + bytes, 0);

/** Until every notification of the run shows its whole life (delivered, two opens, one click). */
async function waitLived(pool: pg.Pool): Promise<void> {
  const started = Date.now();
  for (;;) {
    const { rows } = await pool.query<{ count: string }>(
      `SELECT count(*) FROM notifications WHERE state = 'delivered' AND open_count = 2 AND click_count = 1`,
    );
    const lived = Number(rows[0]?.count ?? 0);
    if (lived >= EMAILS) return;
    if (Date.now() - started > 300_000) throw new Error(`only ${lived} of ${EMAILS} emails lived their whole life`);
    await sleep(250);
  }
}

const run = await openBenchRun("storage");
try {
  const port = await freePort();
  startProcess("api", { ...run.env, PORT: String(port) });
  startProcess("worker", run.env);
  await waitHealthy(port, "/readyz");
  const before = await tableBytes(run.pool);

  const start = Date.now() - 60 * 60_000;
  const emails: Email[] = Array.from({ length: EMAILS }, (_, i) => ({
    emailId: randomUUID(),
    to: `customer.${i}@example.com`,
    sentAt: start + i * 10,
  }));
  const records = await fire(
    port,
    apiRequests(
      "/v1/notifications",
      emails.map((email) => ({
        to: [email.to],
        from: "Acme <receipts@acme.dev>",
        subject: "Your receipt from Acme",
        resendEmailId: email.emailId,
        category: "receipt",
      })),
    ),
    { concurrency: 16 },
  );
  if ((records.statuses["201"] ?? 0) !== EMAILS)
    throw new Error(`records answered ${JSON.stringify(records.statuses)}`);
  const webhooks: WorkloadEvent[] = emails.flatMap((email) =>
    LIFE.map((type, step) => ({ svixId: svixId(), emailId: email.emailId, body: body(email, type, step) })),
  );
  const posted = await fire(port, sign(webhooks), { concurrency: 32 });
  if ((posted.statuses["200"] ?? 0) !== webhooks.length)
    throw new Error(`webhooks answered ${JSON.stringify(posted.statuses)}`);
  await waitLived(run.pool);

  // What autovacuum would have done by now: dead tuples of the projections' updates are reusable space.
  await run.pool.query("VACUUM (ANALYZE)");
  const after = await tableBytes(run.pool);

  const perEmail = (bytes: number) => Math.round(bytes / EMAILS);
  const report: Record<string, { total: number; heap: number; toast: number; indexes: Record<string, number> }> = {};
  let total = 0;
  for (const [name, table] of after) {
    const was = before.get(name) ?? { heap: 0, toast: 0, indexes: {} };
    const grown = totalOf(table) - totalOf(was);
    if (grown <= 0) continue;
    const indexes = Object.fromEntries(
      Object.entries(table.indexes)
        .map(([index, bytes]) => [index, perEmail(bytes - (was.indexes[index] ?? 0))] as const)
        .filter(([, bytes]) => bytes > 0),
    );
    report[name] = {
      total: perEmail(grown),
      heap: perEmail(table.heap - was.heap),
      toast: perEmail(table.toast - was.toast),
      indexes,
    };
    total += grown;
  }

  console.log(
    `storage: ${EMAILS} emails, each recorded, then ${LIFE.join(", ")} (${webhooks.length} webhooks); bytes of PostgreSQL per email:`,
  );
  for (const [name, table] of Object.entries(report).sort(([, a], [, b]) => b.total - a.total)) {
    const indexes = Object.entries(table.indexes)
      .sort(([, a], [, b]) => b - a)
      .map(([index, bytes]) => `${index} ${bytes}`)
      .join(", ");
    console.log(
      `  ${name}: ${table.total} (heap ${table.heap}, toast ${table.toast}, indexes ${table.total - table.heap - table.toast}: ${indexes || "none"})`,
    );
  }
  console.log(`storage total: ${perEmail(total)} bytes per email lifecycle`);
  if (env.BENCH_STORAGE_JSON)
    console.log(JSON.stringify({ emails: EMAILS, bytesPerEmail: perEmail(total), tables: report }));
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
if (env.BENCH_STORAGE_KEEP) {
  await stopProcesses();
  console.log(`kept database ${run.database}`);
  process.exit();
}
await tearDownRun(run);
