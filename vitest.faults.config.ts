// `pnpm test:faults`: the fault tests, one at a time (each starts its own Redis, PostgreSQL, API and
// worker, and they load the machine). FAULTS_SCALE=ci runs them smaller; see test/faults/.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/faults/**/*.fault.ts"],
    pool: "forks",
    // Workers the tests start share one machine: none serves /metrics unless its test asks for a port.
    env: { WORKER_METRICS_PORT: "0" },
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
