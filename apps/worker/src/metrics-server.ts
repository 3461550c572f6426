// The worker's own HTTP port: `/metrics` for Prometheus and `/healthz` for orchestrators. Nothing else.
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

export interface MetricsServer {
  server: Server;
  /** The port it listens on (the one asked for, or the one the system chose for 0 in tests). */
  port: number;
  close(): Promise<void>;
}

/**
 * Serve the registry on `port` (all interfaces, so Prometheus in another container can scrape it;
 * keep the port off the public internet). `/healthz` answers 200 while the process runs its workers.
 */
export async function serveMetrics(registry: Registry, port: number, host?: string): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("method not allowed\n");
      return;
    }
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}\n');
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: this port serves /metrics and /healthz\n");
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { "content-type": registry.contentType }).end(body),
      (error: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${error.message}\n`),
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === "object" && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
