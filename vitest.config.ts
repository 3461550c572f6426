import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "apps/*/src/**/*.test.ts",
      "apps/*/test/**/*.test.ts",
      "test/**/*.test.ts",
    ],
    globalSetup: ["./test/global-setup.ts"],
    pool: "forks",
    // Workers the tests start share one machine: none serves /metrics unless its test asks for a port.
    env: { WORKER_METRICS_PORT: "0" },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
