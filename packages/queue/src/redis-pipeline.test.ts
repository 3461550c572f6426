// patches/ioredis@6.0.0.patch: a pipeline no longer copies every script of its client (BullMQ
// defines ~40) onto itself; they sit on a class made once per client. Against real Redis, with
// keys of its own: scripts defined before and after the first pipeline run in pipelines, in
// transactions and through auto-pipelining.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRedis } from "./redis.ts";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `{pipeline-test-${randomBytes(4).toString("hex")}}`;
const redis = createRedis(REDIS_URL, "worker");

type WithScripts = typeof redis & {
  setTwice(key: string, value: string): Promise<string>;
  lengthOf(key: string): Promise<number>;
};
const client = redis as WithScripts;
/** A pipeline or multi of this client: its scripts queue a command and answer the pipeline. */
interface ScriptPipeline {
  setTwice(key: string, value: string): ScriptPipeline;
  lengthOf(key: string): ScriptPipeline;
  exec(): Promise<[Error | null, unknown][] | null>;
}
const pipeline = () => redis.pipeline() as unknown as ScriptPipeline;

beforeAll(() => {
  redis.defineCommand("setTwice", {
    numberOfKeys: 1,
    lua: "redis.call('SET', KEYS[1], ARGV[1] .. ARGV[1]) return redis.call('GET', KEYS[1])",
  });
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

describe("ioredis pipelines with the patch", () => {
  it("input: a script defined before the first pipeline, run in a pipeline and in a multi → both answer the script's result", async () => {
    const piped = await pipeline().setTwice(`${prefix}a`, "x").exec();
    expect(piped).toEqual([[null, "xx"]]);
    const multi = await (redis.multi() as unknown as ScriptPipeline).setTwice(`${prefix}b`, "y").exec();
    expect(multi).toEqual([[null, "yy"]]);
  });

  it("input: a script defined after pipelines were made → later pipelines have it; earlier scripts still run", async () => {
    redis.pipeline(); // the class for this client is made now, without lengthOf
    redis.defineCommand("lengthOf", { numberOfKeys: 1, lua: "return redis.call('STRLEN', KEYS[1])" });
    const results = await pipeline().setTwice(`${prefix}c`, "abc").lengthOf(`${prefix}c`).exec();
    expect(results).toEqual([
      [null, "abcabc"],
      [null, 6],
    ]);
  });

  it("input: 50 script calls in one tick (auto-pipelined into one pipeline) → every call answered in order", async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.setTwice(`${prefix}auto-${i}`, String(i))),
    );
    expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => `${i}${i}`));
    expect(await client.lengthOf(`${prefix}auto-7`)).toBe(2);
  });
});
