// The API's queues on a Redis that stalls right after the connection comes up. BullMQ checks the
// server's version once, when a queue is first used; on the API's fail-fast connection a failed
// check used to poison the queue for the life of the process: every webhook a 503 until a restart.
import { once } from "node:events";
import { addJob, createQueues, createRedis, jobIdFor } from "@mailstate/queue";
import { type RedisServer, startRedisServer } from "@mailstate/test-support";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.destroy();
});

describe("the API's queues when Redis stalls as they start", () => {
  it("input: every command paused for 2.5 s (past the 2 s command timeout) the moment the connection is ready → adds fail during the stall, then succeed without a restart", async () => {
    const producer = createRedis(server.url, "producer");
    producer.on("error", () => {});
    const admin = new Redis(server.url);
    await Promise.all([once(producer, "ready"), once(admin, "ready")]);
    await admin.client("PAUSE", 2_500, "ALL");
    const queues = createQueues(producer, "{mailstate-test-startup}");
    const payload = { svixId: "msg_startup", receivedAt: new Date().toISOString(), event: { type: "email.sent" } };
    try {
      const during = await addJob(queues, "inbox.reconcile", payload, jobIdFor("event", "msg_startup")).then(
        () => "added",
        (error: Error) => error.message,
      );
      expect(during).toMatch(/timed out|timeout/i);
      // CLIENT PAUSE ALL holds every client's commands, the admin's too: its PING answers when the stall ends.
      await admin.ping();
      const after = await addJob(queues, "inbox.reconcile", payload, jobIdFor("event", "msg_startup"));
      expect(after.id).toBe(jobIdFor("event", "msg_startup"));
      expect(await queues.inbox.getJobCounts("waiting")).toEqual({ waiting: 1 });
    } finally {
      await queues.close();
      producer.disconnect();
      admin.disconnect();
    }
  });
});
