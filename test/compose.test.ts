// docker-compose.yml as users run it: the Compose CLI validates it (with and without the
// observability profile) and rejects a broken copy, and what it declares matches the image: compiled
// commands that `pnpm build` produces, healthchecks on /readyz and the worker's /healthz, the
// migration finishing before the API and the worker start, and Prometheus scraping both.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

/** `docker compose` (the plugin) or Debian's `docker-compose`, whichever this machine has. */
function composeCli(): string[] {
  if (spawnSync("docker", ["compose", "version"], { encoding: "utf8" }).status === 0) return ["docker", "compose"];
  if (spawnSync("docker-compose", ["version"], { encoding: "utf8" }).status === 0) return ["docker-compose"];
  throw new Error(
    "no Compose CLI here: install the docker compose plugin, or Debian's docker-compose (apt-get install --no-install-recommends docker-compose), as .ci/run does",
  );
}

function compose(file: string, ...args: string[]) {
  const [command, ...base] = composeCli();
  return spawnSync(command as string, [...base, "-f", file, ...args], {
    encoding: "utf8",
    // Compose interpolates ${…} from the environment and a .env beside the file: give it neither.
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
}

interface Service {
  image?: string;
  command?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  environment?: Record<string, string>;
  volumes?: string[];
}
const file = parse(readFileSync("docker-compose.yml", "utf8"), { merge: true }) as {
  services: Record<string, Service>;
};
const services = file.services;

describe("docker-compose.yml", () => {
  it("the Compose CLI validates it: config -q exits 0, with and without --profile observability", () => {
    for (const args of [[], ["--profile", "observability"]]) {
      const run = compose("docker-compose.yml", ...args, "config", "-q");
      expect({ args, status: run.status, stderr: run.stderr.trim() }).toEqual({ args, status: 0, stderr: "" });
    }
  });

  it("input: a copy whose migrate dependency names an unknown condition → the CLI exits non-zero naming it", () => {
    const dir = mkdtempSync(join(tmpdir(), "compose-"));
    try {
      const broken = readFileSync("docker-compose.yml", "utf8").replace(
        "condition: service_completed_successfully",
        "condition: service_finished",
      );
      writeFileSync(join(dir, "docker-compose.yml"), broken);
      const run = compose(join(dir, "docker-compose.yml"), "config", "-q");
      expect(run.status).not.toBe(0);
      expect(run.stderr).toContain("service_finished");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the API, the worker and the migration run the compiled image's files with plain node (pnpm build makes them)", () => {
    expect(services.api?.command).toEqual(["node", "--enable-source-maps", "apps/api/dist/main.js"]);
    expect(services.worker?.command).toEqual(["node", "--enable-source-maps", "apps/worker/dist/main.js"]);
    expect(services.migrate?.command).toEqual(["node", "packages/db/scripts/prisma.mjs", "migrate", "deploy"]);
    for (const path of ["apps/api/dist/main.js", "apps/worker/dist/main.js", "packages/db/scripts/prisma.mjs"]) {
      expect({ path, exists: existsSync(path) }).toEqual({ path, exists: true });
    }
    const dockerfile = readFileSync("Dockerfile", "utf8");
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(dockerfile).toContain('CMD ["node", "--enable-source-maps", "apps/api/dist/main.js"]');
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toContain('ENTRYPOINT ["/usr/bin/tini", "--"]');
  });

  it("the Dockerfile's deps stage copies the package.json of every workspace package before its frozen install (one it misses gets no dependencies, and the build fails in the image only)", () => {
    const dockerfile = readFileSync("Dockerfile", "utf8");
    const packages = ["apps", "packages"].flatMap((dir) =>
      readdirSync(dir)
        .map((name) => `${dir}/${name}`)
        .filter((path) => existsSync(join(path, "package.json"))),
    );
    const missing = packages.filter((path) => !dockerfile.includes(`COPY ${path}/package.json ${path}/\n`));
    expect(missing).toEqual([]);
  });

  it("healthchecks: the API on /readyz, the worker on its /healthz at WORKER_METRICS_PORT; the migration finishes before either starts", () => {
    expect(services.api?.healthcheck?.test.join(" ")).toContain("http://127.0.0.1:3000/readyz");
    expect(services.worker?.healthcheck?.test.join(" ")).toContain("process.env.WORKER_METRICS_PORT||9464)+'/healthz'");
    for (const name of ["api", "worker"]) {
      expect(services[name]?.depends_on).toEqual({
        migrate: { condition: "service_completed_successfully" },
        redis: { condition: "service_healthy" },
      });
    }
    expect(services.migrate?.depends_on).toEqual({ postgres: { condition: "service_healthy" } });
  });

  it("--profile observability: Prometheus scrapes api:3000 and worker:9464, Grafana gets the datasource and the dashboard", () => {
    expect(services.prometheus?.profiles).toEqual(["observability"]);
    expect(services.grafana?.profiles).toEqual(["observability"]);
    expect(services.jaeger?.profiles).toEqual(["observability"]);
    expect(services.jaeger?.environment).toMatchObject({ COLLECTOR_OTLP_ENABLED: "true" });
    const prometheus = parse(readFileSync("deploy/prometheus/prometheus.yml", "utf8")) as {
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; port: number }[] }[];
    };
    const targets = prometheus.scrape_configs.map((job) => [
      job.job_name,
      job.dns_sd_configs[0]?.names,
      job.dns_sd_configs[0]?.port,
    ]);
    expect(targets).toEqual([
      ["mailstate-api", ["api"], 3000],
      [
        "mailstate-worker",
        ["worker"],
        Number(services.worker?.environment?.WORKER_METRICS_PORT?.match(/:-(\d+)\}/)?.[1]),
      ],
    ]);
    expect(services.prometheus?.volumes).toContain(
      "./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
    );
    const provider = parse(readFileSync("deploy/grafana/provisioning/dashboards/mailstate.yml", "utf8")) as {
      providers: { options: { path: string } }[];
    };
    const dashboards = provider.providers[0]?.options.path;
    expect(services.grafana?.volumes).toEqual(
      expect.arrayContaining([
        "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro",
        `./deploy/grafana/dashboards:${dashboards}:ro`,
      ]),
    );
    expect(existsSync("deploy/grafana/dashboards/mailstate.json")).toBe(true);
  });
});
