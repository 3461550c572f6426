// BENCHMARKS.md, written by `pnpm bench` from one run's figures.
import { loadWorkerEnv } from "../apps/worker/src/env.ts";
import { type EndToEndFigures, FAULT_RATE } from "./end-to-end.ts";
import type { LoadResult } from "./load.ts";
import { type SubbenchFigures, WORKER_ARGS } from "./subbenches.ts";

/** The machine the run measured, as the page's first table shows it. */
export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: string;
  node: string;
  date: string;
  load: string;
  postgres: string;
  redis: string;
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
const statuses = (r: LoadResult) =>
  Object.entries(r.statuses)
    .map(([status, count]) => `${status}×${count}`)
    .join(", ");
const row = (name: string, r: LoadResult) =>
  `| ${name} | ${r.requests} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${statuses(r)} |`;

const defaults = loadWorkerEnv({});
const workerDefaults =
  `concurrency ${defaults.WORKER_CONCURRENCY}, ${defaults.WORKER_INBOX_FETCHERS} inbox fetchers, ` +
  `batches of up to ${defaults.WORKER_BATCH_SIZE} that wait up to ${defaults.WORKER_BATCH_WAIT_MS} ms, ` +
  `${defaults.WORKER_BATCHES_IN_FLIGHT} in flight`;

const lifecycleCpuMethod = `Each design (mailstate, the synchronous design, the tutorial peer) records 2,000 sends
(one \`POST /v1/notifications\` each, 16 in flight), then receives their webhooks (sent, delivered, opened: 6,000
signed) at 500/s, and is measured until every webhook is applied (mailstate: in the log and the inbox empty; the
peers answer once committed). Before and after, the user + system time of every process of the design is read from
\`/proc/<pid>/stat\`: the API and the worker, or the peer's server; redis-server; PostgreSQL's postmaster, all its
live backends and the backends that ended meanwhile (its reaped-children counters). Per webhook, as issue 27 counts
it, is all of that over the 6,000 webhooks, the 2,000 records included; per email lifecycle, over the 2,000 emails
(three times as much, the same ratios). A warm-up of 200 lifecycles runs first; the load generator's own CPU is not
counted. The ingest row then fires 6,000 more webhooks as fast as 32 connections go, for sends already recorded,
with the worker running (mailstate) or the transaction inside the request (the peers). Every design is measured in
rounds (BENCH_ROUNDS, 3 unless set), one design after the other in each round: a design's line is listed once per
round, and each figure of the table and each ratio is the median of its rounds' (this shared box moves one
run's CPU by up to a third).`;

export function benchmarksMarkdown(
  machine: Machine,
  figures: SubbenchFigures,
  endToEnd: EndToEndFigures,
  e2eRate: number,
): string {
  const { bare, ingest, hostile, foreign, heavy, soak, storage, worker90, backlog } = figures;
  const { lifecycle, tracing, records, clusterLines, headline, steadyWorker } = figures;
  const { webhooks: steadyWebhooks, http: steadyHttp, tail: steadyTail, lag } = endToEnd.steady;
  const { sync: syncSlow, api: apiSlow, drain: slowDrain } = endToEnd.slow;
  const { sync: syncDown, api: apiDown } = endToEnd.down;
  return `# Benchmarks

Measured by \`pnpm bench\` (\`bench/run.ts\`) on ${machine.date.slice(0, 10)}; every figure below comes from that one run.

| machine | |
| --- | --- |
| CPU | ${machine.cpu} |
| cores | ${machine.cores} |
| memory | ${machine.memoryGiB} GiB |
| Node.js | ${machine.node} |
| PostgreSQL / Redis | ${machine.postgres} / ${machine.redis} (local, loopback) |
| load average at start | ${machine.load} |
| date | ${machine.date} |

Everything (load generator, API, worker, PostgreSQL, Redis) shares these ${machine.cores} cores, so the
figures are lower bounds of what separate machines would do; compare rows within one run, not across machines.

## Headline: the whole system against the synchronous design and the tutorial peer

From \`pnpm bench:lifecycle\` (\`bench/lifecycle.ts\`), \`pnpm bench:record\` (\`bench/record.ts\`) and
\`pnpm bench:worker\`, in this one run. Everything runs as users run it, as real processes on this box:
the API and the worker (\`apps/*/src/main.ts\`), or one of two peers served by \`bench/sync-server.ts\`,
with Redis and PostgreSQL. Both peers verify with svix's \`Webhook\` class, then run one PostgreSQL transaction
inside the request on pg's Pool of 10; recording a send is one INSERT. The synchronous design inserts the event
into mailstate's own event table, then updates the notification's state (or its open count). The tutorial peer
(\`SYNC_DESIGN=tutorial\`, the design issue 27 names) inserts the svix-id into a \`processed_events\` table
(\`ON CONFLICT DO NOTHING\`: no row, a duplicate, committed and answered 200), then
\`UPDATE notifications SET state = <the type's state>, updated_at = now()\`, last write wins; an open or a
click has no state, so its UPDATE sets updated_at alone. Ratios are mailstate's figure over the peer's; the
floors and goals are issue 27's, against the tutorial peer.

| measure | mailstate | synchronous design | tutorial peer | vs synchronous | vs tutorial | issue 27 floor (goal) |
| --- | --- | --- | --- | --- | --- | --- |
| whole-system CPU per webhook (the 2,000 records included: all of it over 6,000 webhooks) | ${fmt(headline.cpu.mailstate.webhook, 2)} ms | ${fmt(headline.cpu.sync.webhook, 2)} ms | ${fmt(headline.cpu.tutorial.webhook, 2)} ms | ${fmt(headline.cpu.mailstate.webhook / headline.cpu.sync.webhook, 2)}× | ${fmt(headline.cpu.mailstate.webhook / headline.cpu.tutorial.webhook, 2)}× | ≤ 1.0× (≤ 0.5×) |
| whole-system CPU per email lifecycle (record + sent, delivered, opened) | ${fmt(headline.cpu.mailstate.email, 2)} ms | ${fmt(headline.cpu.sync.email, 2)} ms | ${fmt(headline.cpu.tutorial.email, 2)} ms | ${fmt(headline.cpu.mailstate.email / headline.cpu.sync.email, 2)}× | ${fmt(headline.cpu.mailstate.email / headline.cpu.tutorial.email, 2)}× | the same ratio |
| webhook ingest, worker running, 32 connections | ${fmt(headline.ingest.mailstate.rps, 0)} req/s, p99 ${fmt(headline.ingest.mailstate.p99)} ms | ${fmt(headline.ingest.sync.rps, 0)} req/s, p99 ${fmt(headline.ingest.sync.p99)} ms | ${fmt(headline.ingest.tutorial.rps, 0)} req/s, p99 ${fmt(headline.ingest.tutorial.p99)} ms | ${fmt(headline.ingest.mailstate.rps / headline.ingest.sync.rps, 2)}×, p99 ${fmt(headline.ingest.mailstate.p99 / headline.ingest.sync.p99, 2)}× | ${fmt(headline.ingest.mailstate.rps / headline.ingest.tutorial.rps, 2)}×, p99 ${fmt(headline.ingest.mailstate.p99 / headline.ingest.tutorial.p99, 2)}× | ≥ 1.5×, p99 no worse (≥ 2×) |
| recording, batch of 100 | ${fmt(headline.batch, 0)} records/s | | | | | ≥ 2,000/s |
| recording, single, 16 in flight | ${fmt(headline.single, 0)} records/s | | | | | ≥ 500/s |
| worker backlog | ${fmt(headline.backlog, 0)} events/s | | | | | ≥ 5,000/s (10,000/s) |
| lag p99 at 1,000 events/s | ${fmt(headline.lagP99, 0)} ms | | | | | < 100 ms (< 50 ms) |

**How the CPU is measured.** ${lifecycleCpuMethod}

${[...lifecycle, ...records].map((l) => `- ${l}`).join("\n") || "- n/a"}

### Tracing

The same lifecycle run of mailstate with OpenTelemetry on (\`OTEL_EXPORTER_OTLP_ENDPOINT\`, OTLP/HTTP
protobuf to a receiver in the bench process that drops what it gets; a collector's own CPU is not
counted), keeping 10% of traces (\`parentbased_traceidratio\`, 0.1) and all of them, against tracing off
(the \`lifecycle mailstate:\` line above). Goals: off within noise of before, 10% under 1.1×.

${tracing.map((l) => `- ${l}`).join("\n") || "- n/a"}

## Commands

| what | command |
| --- | --- |
| all of it, writes this file | \`pnpm bench\` |
| whole-system CPU per webhook and per email, and ingest, vs the synchronous design and the tutorial peer | \`pnpm bench:lifecycle\` (\`bench/lifecycle.ts\`, the peers \`bench/sync-server.ts\`; \`BENCH_DESIGNS=tutorial,mailstate\` for some) |
| record rates, single and batched | \`pnpm bench:record\` (\`bench/record.ts\`) |
| ingest route vs a bare route | \`pnpm bench:ingest\` (\`tsx apps/api/bench/ingest.ts\`) |
| worker throughput and lag | \`pnpm bench:worker ${WORKER_ARGS.join(" ")}\` |
| redaction and a long-URL flood | \`pnpm bench:hostile\` (\`bench/hostile.ts\`) |
| Redis per email mailstate did not send | \`pnpm bench:foreign\` (\`bench/foreign.ts\`) |
| one event on a notification with 10,000 opens | \`pnpm bench:heavy\` (\`apps/worker/bench/heavy-notification.ts\`) |
| one Redis vs a local 3-master Redis Cluster, INBOX_SHARDS 1 and 3 | \`pnpm bench:cluster\` (\`bench/cluster.ts\`) |
| PostgreSQL bytes per email lifecycle, per table | \`pnpm bench:storage\` (\`bench/storage.ts\`) |
| what tracing costs, its variants (off, 0%, 10%, 100%) running side by side and loaded in turn | \`pnpm bench:tracing\` (\`bench/tracing-cost.ts\`) |
| RSS of the API and the worker at 400 webhooks/s for 3 minutes | \`pnpm bench:soak\` (\`bench/soak.ts\`) |
| end to end and the synchronous design | \`BENCH_SKIP_SUBBENCH=1 pnpm bench\` (\`bench/run.ts\`, \`bench/sync-server.ts\`) |

## The API alone: \`POST /webhooks/resend\` (verify, enqueue), no worker

From \`pnpm bench:ingest\`: 5,000 distinct signed webhooks after 1,000 warm-up, 50 connections, into the API
process alone (nothing drains the queue): the route's own cost, not the system's; the headline above is the system.

| route | req/s | p50 ms | p99 ms | server CPU µs/req |
| --- | --- | --- | --- | --- |
| bare express route (reads the body, answers) | ${fmt(bare.rps, 0)} | ${fmt(bare.p50, 2)} | ${fmt(bare.p99, 2)} | ${fmt(bare.cpu, 0)} |
| ingest route (verify + enqueue to Redis) | ${fmt(ingest.rps, 0)} | ${fmt(ingest.p50, 2)} | ${fmt(ingest.p99, 2)} | ${fmt(ingest.cpu, 0)} |

## Worker: reconcile into PostgreSQL

From \`pnpm bench:worker ${WORKER_ARGS.join(" ")}\` (one worker process, default settings: ${workerDefaults}):

- ${backlog || "n/a"}
- ${steadyWorker || "n/a"}

## Hostile URLs: redaction and a flood of long paths

From \`pnpm bench:hostile\` (\`bench/hostile.ts\`): the request log's redaction of a 16 KB URL, now and
with the former single regex; then signed webhooks at 300/s for 8 s into a real API process with a worker,
alone, while 8 clients send 15 KB paths back to back (414 from the URL cap), and the same flood against
an API whose cap is raised to 16384 (each long URL routed, answered 401 and logged through the redaction).

${hostile.map((l) => `- ${l}`).join("\n") || "- n/a"}

## Redis Cluster: one Redis, and three masters with INBOX_SHARDS 1 and 3

From \`pnpm bench:cluster\` (\`bench/cluster.ts\`): per configuration, signed webhooks posted to a real API
process as fast as 64 connections go with no worker running (ingest), then one worker process drains them
(worker: events logged a second, from its first to its last). The cluster is three \`redis-server\` masters in
cluster mode, no replicas, started by the bench on this box.

**One box cannot show a cluster's gain.** Every Redis node, the API, the worker and PostgreSQL share these
${machine.cores} cores, so three masters here compete for the same CPU that one Redis had to itself, and the
cluster client adds a slot lookup and one pipeline per node. What these rows show is what the cluster and the
shards cost on one machine; the gain of a cluster is the CPU and memory of more machines, which this run
does not have.

${clusterLines.map((l) => `- ${l}`).join("\n") || "- n/a"}

## Traffic mailstate did not send: Redis per email

From \`pnpm bench:foreign\` (\`bench/foreign.ts\`): signed webhooks (sent, delivered, opened) into a real API
process with a worker, for emails no notification carries: first of a Resend Broadcast (\`broadcast_id\`:
logged in PostgreSQL, never parked), then untagged ones (one parked job per email id). Measured once the
worker has drained, as the sum of MEMORY USAGE over the run's prefix, and as INFO used_memory. A bare
delayed BullMQ job costs about 1,200 bytes in Redis 7, which is the floor of a parked email id.

${foreign.map((l) => `- ${l}`).join("\n") || "- n/a"}

## Storage: PostgreSQL bytes per email

From \`pnpm bench:storage\` (\`bench/storage.ts\`): sends recorded through the API, then sent, delivered, opened
twice and clicked for each (Resend-shaped bodies with a message id, tags, and the click's link, IP address and
user agent), drained by the worker, vacuumed, and measured per table (heap, TOAST, each index, partitions
summed), less what the tables held before.

${storage.map((l) => `- ${l.trim()}`).join("\n") || "- n/a"}

The same worker benchmark as above, with the event log's day partitions of the last 90 days made first (as a
database under the default \`RETENTION_DAYS\` holds them):

${worker90.map((l) => `- ${l}`).join("\n") || "- n/a"}

## Memory under steady traffic

From \`pnpm bench:soak\` (\`bench/soak.ts\`): a real API and worker, started as \`pnpm start\` starts them
(\`--max-semi-space-size=8\`), get the sent, delivered and opened webhooks of sends already recorded at 400/s
for 3 minutes; each process's RSS is read from /proc every 10 s. \`BENCH_HEAP_SNAPSHOTS=<dir>\` writes heap
snapshots of both after the warm-up and at the end.

${soak.map((l) => `- ${l}`).join("\n") || "- n/a"}

## A notification with 10,000 opens

From \`pnpm bench:heavy\`: against a real worker process and PostgreSQL, events one at a time (each
waits for the previous), median over 8 notifications. The worker folds only a notification's delivery
events and adds opens and clicks to its stored counters, so a heavy clicker costs what a fresh one does.

${heavy.map((l) => `- ${l}`).join("\n") || "- n/a"}

## End to end at a steady rate

${steadyWebhooks} signed webhooks posted to the running API (real process, \`apps/api/src/main.ts\`) at
${e2eRate}/s (open loop, up to 64 connections) with one worker process (\`apps/worker/src/main.ts\`, defaults)
running on the same machine.

| measure | p50 | p99 | max |
| --- | --- | --- | --- |
| webhook HTTP answer (client side, from its scheduled send) | ${fmt(steadyHttp.p50)} ms | ${fmt(steadyHttp.p99)} ms | ${fmt(steadyHttp.max)} ms |
| lag: arrival → projection committed (${lag.n} events) | ${lag.p50} ms | ${lag.p99} ms | ${lag.max} ms |

HTTP statuses: ${statuses(steadyHttp)}. The last event was logged ${steadyTail} ms after the last answer.

**How lag is measured.** A completed inbox job leaves Redis at once, so the lag is read live from the
inbox's BullMQ event stream: start, the job's \`added\` entry (the API enqueued the verified webhook);
end, its \`completed\` entry, written when the worker's handler returns, which is after the transaction
that appended the event *and* wrote the notification's projection has committed (one transaction). Both
times are the stream entries' ids, Redis's own clock in milliseconds, so the lag is an upper bound on
enqueued → projection visible, never an underestimate. \`notifications.updated_at\` was not used: a notification is
rewritten by each of its events, so it only dates the latest one.

## The synchronous design, side by side

The synchronous design (\`bench/sync-server.ts\`, its default; the tutorial peer of the headline is not run here)
is a bare express route that verifies the Svix
signature, then, inside the request, opens a PostgreSQL transaction (insert the event, update the
notification row), commits and only then answers (pg's default pool of 10, no statement timeout, no
per-request logging). The queue design is the real API process (LOG_LEVEL=warn) with the worker running.

| design, condition | requests | req/s | p50 ms | p99 ms | max ms | statuses |
| --- | --- | --- | --- | --- | --- | --- |
${row(`synchronous, PostgreSQL slow (table locked 3 s; ${FAULT_RATE}/s offered)`, syncSlow)}
${row(`queue (API), PostgreSQL slow (table locked 3 s; ${FAULT_RATE}/s offered)`, apiSlow)}
${row(`synchronous, PostgreSQL down (${FAULT_RATE}/s offered)`, syncDown)}
${row(`queue (API), PostgreSQL down (${FAULT_RATE}/s offered)`, apiDown)}

The worker had reconciled the slow-PostgreSQL phase ${slowDrain} ms after it ended: with the queue, a slow
database delays the projection, not the answer to Resend.

What this means for Resend: with the synchronous route, every millisecond PostgreSQL spends is spent
while Resend waits; a lock or a slow disk shows up as webhook latency (and, past Resend's timeout, as
failed deliveries it retries), and when PostgreSQL is down every webhook gets a 5xx, so Resend retries
each one on its backoff schedule for up to a day and the events arrive late, in bursts, when the
database is back. The queue route answers from Redis alone: PostgreSQL being slow or down does not change
its status codes, and its latency stays that of a Redis write (what moves it in the slow row is CPU shared with
the worker on this small machine); the backlog waits in Redis (AOF) and the worker drains it
when PostgreSQL is back (see \`test/faults/postgres-outage.fault.ts\`: no job fails for good during a 60 s
outage at full size, 20 s in CI). Its own failure mode is Redis being unreachable, answered with 503 so that Resend retries.
`;
}
