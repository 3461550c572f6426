// `pnpm test:faults`: the fault tests, one at a time (each starts its own Redis, PostgreSQL, API and
// worker, and they load the machine). FAULTS_SCALE=ci runs them smaller; see test/faults/.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/faults/**/*.fault.ts"],
    pool: "forks",
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
