// What ops can change through Bull Board, on the real API with the ops credentials: every Bull
// Board write route outside the allow-list, on each queue, answers 403 problem+json and leaves
// Redis byte for byte as it was; the allowed ones (inbox: retry failed; unmatched: promote, retry,
// remove) still work.
import { randomUUID } from "node:crypto";
import { allowedWrite, BULL_BOARD_API_ROUTES, type MailstateStack, mailstateSystem } from "@mailstate/api/testing";
import { addInboxBatch, addJob, createRedis, jobIdFor, QUEUE_NAMES, type QueueName } from "@mailstate/queue";
import { basicAuth, OPS_ENV, startStack, testRedisUrl } from "@mailstate/test-support";
import { type Queue, UnrecoverableError, Worker } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let stack: MailstateStack;
const auth = basicAuth();

/** One job of each state a test needs, per queue. */
const jobs = {
  inbox: { waiting: "", failed: "", failed2: "", completed: "" },
  unmatched: { delayed: "", delayed2: "", failed: "", failed2: "", completed: "", removable: "" },
};

function queueOf(name: QueueName): Queue {
  return name === "inbox" ? stack.queues.inbox : stack.queues.unmatched;
}

/** Take the next job of the queue by hand and finish it as failed or completed, with no worker running. */
async function finishNext(name: QueueName, how: "failed" | "completed"): Promise<string> {
  const connection = createRedis(testRedisUrl(), "worker");
  const manual = new Worker(name, undefined, { connection, prefix: queueOf(name).opts.prefix });
  try {
    const token = randomUUID();
    const job = await manual.getNextJob(token);
    if (!job?.id) throw new Error(`no job to take from ${name}`);
    if (how === "failed")
      await job.moveToFailed(new UnrecoverableError("PostgreSQL was down past the last attempt"), token);
    else await job.moveToCompleted({ status: "applied" }, token);
    return job.id;
  } finally {
    await manual.close();
    connection.disconnect();
  }
}

/** The events of one batch job, as the API writes them: a delivery and an open of one email. */
function inboxBatch() {
  const emailId = randomUUID();
  return (["email.delivered", "email.opened"] as const).map((type) => ({
    svixId: `msg_${randomUUID().replaceAll("-", "")}`,
    receivedAt: new Date().toISOString(),
    event: { type, created_at: new Date().toISOString(), data: { email_id: emailId } },
  }));
}

/** A batch job of two events, added as the API adds it; answers its id. */
async function addInbox(events = inboxBatch()): Promise<string> {
  const [jobId] = await addInboxBatch(stack.queues, events);
  if (!jobId) throw new Error("no job added");
  return jobId;
}

async function addUnmatched(delay?: number): Promise<string> {
  const svixId = `msg_${randomUUID().replaceAll("-", "")}`;
  const jobId = jobIdFor("unmatched", svixId);
  await addJob(
    stack.queues,
    "unmatched.retry",
    { svixId, emailId: randomUUID() },
    jobId,
    delay === undefined ? {} : { delay },
  );
  return jobId;
}

beforeAll(async () => {
  stack = await startStack("ops_policy", mailstateSystem, { env: OPS_ENV });
  // Inbox: failed, failed, completed (taken in the order added), then one left waiting.
  for (let i = 0; i < 3; i += 1) await addInbox();
  jobs.inbox.failed = await finishNext("inbox", "failed");
  jobs.inbox.failed2 = await finishNext("inbox", "failed");
  jobs.inbox.completed = await finishNext("inbox", "completed");
  jobs.inbox.waiting = await addInbox();
  // Unmatched: three with no delay to finish by hand, then parked ones (delayed, as the worker parks them).
  for (let i = 0; i < 3; i += 1) await addUnmatched(0);
  jobs.unmatched.failed = await finishNext("unmatched", "failed");
  jobs.unmatched.failed2 = await finishNext("unmatched", "failed");
  jobs.unmatched.completed = await finishNext("unmatched", "completed");
  jobs.unmatched.delayed = await addUnmatched();
  jobs.unmatched.delayed2 = await addUnmatched();
  jobs.unmatched.removable = await addUnmatched();
});
afterAll(async () => {
  await stack?.close();
});

/** Every key under the test's prefix with its DUMP: any change to any job, list or hash shows. */
async function snapshot(): Promise<Map<string, string>> {
  const redis = createRedis(testRedisUrl(), "worker");
  try {
    const prefix = stack.prefix;
    const keys = await redis.keys(`${prefix}:*`);
    const dumps = await Promise.all(
      keys.map(async (key) => [key, (await redis.dumpBuffer(key))?.toString("base64") ?? ""] as const),
    );
    return new Map(dumps.sort(([a], [b]) => a.localeCompare(b)));
  } finally {
    redis.disconnect();
  }
}

async function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.baseUrl}/admin/queues${path}`, {
    method,
    headers: { authorization: auth, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text };
}

/** A job id each route can be tried on: the state that the action would change. */
function jobFor(queue: QueueName, route: string): string {
  if (queue === "inbox") return route.endsWith("/retry") ? jobs.inbox.completed : jobs.inbox.failed;
  return jobs.unmatched.failed;
}

const BODIES: Record<string, unknown> = {
  "/api/queues/:queueName/add": {
    name: "inbox.reconcile",
    data: { svixId: "msg_forged", receivedAt: new Date().toISOString(), event: { type: "email.bounced" } },
    options: {},
  },
  "/api/queues/:queueName/:jobId/update-data": { data: { svixId: "msg_forged", emailId: "re_forged" } },
  "/api/queues/:queueName/obliterate": { force: true },
  "/api/queues/:queueName/concurrency": { concurrency: 1 },
  "/api/queues/:queueName/rate-limit": { max: 1, duration: 1000 },
  "/api/queues/:queueName/:jobId/delay": { delay: 1 },
  "/api/queues/:queueName/:jobId/priority": { priority: 1 },
  "/api/queues/:queueName/job-schedulers/:schedulerId": { pattern: "* * * * *" },
};

/** Every (method, path, body) Bull Board routes as a write, on each queue, that the allow-list does not permit. */
function forbiddenWrites(): { method: string; path: string; body: unknown; label: string }[] {
  const out: { method: string; path: string; body: unknown; label: string }[] = [];
  for (const { method, route } of BULL_BOARD_API_ROUTES) {
    if (method === "get") continue;
    const queues: QueueName[] = route.includes(":queueName")
      ? [QUEUE_NAMES.inbox, QUEUE_NAMES.unmatched, QUEUE_NAMES.maintenance]
      : ["inbox"];
    for (const queue of queues) {
      const statuses = route.includes(":queueStatus") ? ["wait", "completed", "failed", "delayed"] : [""];
      for (const status of statuses) {
        const params: Record<string, string> = {
          queueName: queue,
          queueStatus: status,
          jobId: jobFor(queue, route),
          schedulerId: "nightly",
        };
        const path = route.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
        const allowed = allowedWrite(method, route, route.includes(":queueName") ? params : {});
        // The job retry on the inbox is tried on a completed job: allowed by route, refused by job state.
        if (allowed && !(route.endsWith("/:jobId/retry") && queue === "inbox")) continue;
        out.push({ method: method.toUpperCase(), path, body: BODIES[route], label: `${method.toUpperCase()} ${path}` });
      }
    }
  }
  // The router matches case-insensitively, with a trailing slash, and decodes parameters: so does the guard.
  out.push(
    {
      method: "POST",
      path: "/API/QUEUES/inbox/ADD",
      body: BODIES["/api/queues/:queueName/add"],
      label: "POST /API/QUEUES/inbox/ADD",
    },
    {
      method: "POST",
      path: "/api/queues/inbox/add/",
      body: BODIES["/api/queues/:queueName/add"],
      label: "POST …/inbox/add/",
    },
    {
      method: "POST",
      path: "/api/queues/%69nbox/add",
      body: BODIES["/api/queues/:queueName/add"],
      label: "POST …/%69nbox/add",
    },
    { method: "DELETE", path: "/api/queues/inbox", body: undefined, label: "DELETE /api/queues/inbox (no such route)" },
    {
      method: "PUT",
      path: `/api/queues/unmatched/${jobs.unmatched.completed}/retry`,
      body: undefined,
      label: "PUT retry of a completed unmatched job",
    },
  );
  return out;
}

describe("Bull Board writes outside the allow-list, with valid ops credentials", () => {
  it("input: every write route of Bull Board 9.10.1 not allowed, on inbox and unmatched (add, update-data, empty, obliterate, clean, pause, resume, …) → 403 problem+json each, Redis unchanged", async () => {
    const writes = forbiddenWrites();
    // Sanity: the list covers the attacks of the issue.
    for (const wanted of [
      "POST /api/queues/inbox/add",
      "PUT /api/queues/inbox/empty",
      "PUT /api/queues/inbox/obliterate",
      "PUT /api/queues/inbox/clean/wait",
      "POST /api/queues/unmatched/add",
      "PUT /api/queues/pause",
    ]) {
      expect(writes.map((write) => write.label)).toContain(wanted);
    }
    expect(writes.some((write) => write.label.includes("/update-data"))).toBe(true);
    const before = await snapshot();
    expect(before.size).toBeGreaterThan(10);
    const refused: string[] = [];
    for (const write of writes) {
      const answer = await send(write.method, write.path, write.body);
      expect(answer.status, write.label).toBe(403);
      expect(answer.contentType, write.label).toContain("application/problem+json");
      expect(JSON.parse(answer.text).type, write.label).toBe("https://mailstate.dev/problems/ops-action-forbidden");
      expect(await snapshot(), write.label).toEqual(before);
      refused.push(write.label);
    }
    expect(refused.length).toBeGreaterThan(50);
    expect(await stack.queues.inbox.getJobCounts("waiting", "failed", "completed")).toEqual({
      waiting: 1,
      failed: 2,
      completed: 1,
    });
    expect(await stack.queues.unmatched.getJobCounts("delayed", "failed", "completed")).toEqual({
      delayed: 3,
      failed: 2,
      completed: 1,
    });
  });

  it("input: POST …/inbox/add without credentials → 401 (the door comes first), nothing added", async () => {
    const response = await fetch(`${stack.baseUrl}/admin/queues/api/queues/inbox/add`, { method: "POST" });
    expect(response.status).toBe(401);
    expect((await stack.queues.inbox.getJobCounts("waiting")).waiting).toBe(1);
  });
});

describe("Bull Board writes on the allow-list still work", () => {
  it("input: PUT …/unmatched/<delayed job>/promote → 204, the parked event is waiting now", async () => {
    const answer = await send("PUT", `/api/queues/unmatched/${jobs.unmatched.delayed}/promote`);
    expect(answer.status).toBe(204);
    expect(await stack.queues.unmatched.getJobState(jobs.unmatched.delayed)).toBe("waiting");
  });

  it("input: PUT …/unmatched/promote → 200, every parked event is waiting", async () => {
    const answer = await send("PUT", "/api/queues/unmatched/promote");
    expect(answer.status).toBe(200);
    expect(await stack.queues.unmatched.getJobState(jobs.unmatched.delayed2)).toBe("waiting");
  });

  it("input: PUT …/unmatched/<failed job>/retry → 204, waiting; PUT …/unmatched/retry/failed → 200, the other one too", async () => {
    expect((await send("PUT", `/api/queues/unmatched/${jobs.unmatched.failed}/retry`)).status).toBe(204);
    expect(await stack.queues.unmatched.getJobState(jobs.unmatched.failed)).toBe("waiting");
    const all = await send("PUT", "/api/queues/unmatched/retry/failed");
    expect(all.status).toBe(200);
    expect(JSON.parse(all.text)).toEqual({ retried: 1, skipped: 0 });
    expect(await stack.queues.unmatched.getJobState(jobs.unmatched.failed2)).toBe("waiting");
  });

  it("input: PUT …/unmatched/<job>/clean (Remove) → 204, the job is gone", async () => {
    expect((await send("PUT", `/api/queues/unmatched/${jobs.unmatched.removable}/clean`)).status).toBe(204);
    expect(await stack.queues.unmatched.getJob(jobs.unmatched.removable)).toBeUndefined();
  });

  it("input: PUT …/inbox/<failed job>/retry → 204, waiting; PUT …/inbox/retry/failed → 200, the other one too", async () => {
    expect((await send("PUT", `/api/queues/inbox/${jobs.inbox.failed}/retry`)).status).toBe(204);
    expect(await stack.queues.inbox.getJobState(jobs.inbox.failed)).toBe("waiting");
    const all = await send("PUT", "/api/queues/inbox/retry/failed");
    expect(all.status).toBe(200);
    expect(JSON.parse(all.text)).toEqual({ retried: 1, skipped: 0 });
    expect(await stack.queues.inbox.getJobState(jobs.inbox.failed2)).toBe("waiting");
  });

  it("input: PUT …/inbox/<unknown job>/retry → Bull Board's own 404", async () => {
    expect((await send("PUT", "/api/queues/inbox/event-nope/retry")).status).toBe(404);
  });
});

describe("what Bull Board shows", () => {
  it("input: GET …/api/queues → each queue says what it is and what promote and retry do; completed jobs offer no retry", async () => {
    const answer = await send("GET", "/api/queues");
    const queues = JSON.parse(answer.text).queues as {
      name: string;
      description: string;
      readOnlyMode: boolean;
      allowRetries: boolean;
      allowCompletedRetries: boolean;
    }[];
    const inbox = queues.find((queue) => queue.name === "inbox");
    const unmatched = queues.find((queue) => queue.name === "unmatched");
    expect(inbox?.description).toMatch(/only signed webhooks enter it/);
    expect(inbox?.description).toMatch(/Retry runs a failed job again/);
    expect(unmatched?.description).toMatch(/Promote tries one now/);
    expect(unmatched?.description).toMatch(/Retry runs a failed one again/);
    const maintenance = queues.find((queue) => queue.name === "maintenance");
    expect(maintenance?.description).toMatch(/ENGAGEMENT_PII_DAYS/);
    for (const queue of [inbox, unmatched, maintenance]) {
      expect(queue).toMatchObject({ allowRetries: true, allowCompletedRetries: false });
    }
  });

  it("input: GET …/api/queues?activeQueue=inbox&status=waiting → each batch job named by its events' count and types, its data led by one line per event: type · email id · svix-id", async () => {
    const events = inboxBatch();
    const jobId = await addInbox(events);
    const answer = await send("GET", "/api/queues?activeQueue=inbox&status=waiting&page=1");
    expect(answer.status).toBe(200);
    const inbox = (
      JSON.parse(answer.text).queues as { name: string; jobs: { id: string; name: string; data: unknown }[] }[]
    ).find((queue) => queue.name === "inbox");
    const job = inbox?.jobs.find((one) => one.id === jobId);
    expect(job?.name).toBe("inbox.batch: 2 events (1 delivered, 1 opened)");
    const emailId = events[0]?.event.data.email_id;
    expect(job?.data).toEqual({
      events: events.map(({ svixId, event }) => `${event.type} · ${emailId} · ${svixId}`),
      bodies: events,
    });
  });

  it("input: GET /admin/queues → the page's UI config links back to /support", async () => {
    const page = await send("GET", "");
    const config = /<script id="__UI_CONFIG__" type="application\/json">(.*?)<\/script>/s.exec(page.text)?.[1];
    expect(JSON.parse(config ?? "{}").miscLinks).toEqual([{ text: "Support pages", url: "/support" }]);
  });
});
