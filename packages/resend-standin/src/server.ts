// Serves the stand-in over HTTP: each request is counted under its route, faulted when a test asked,
// routed, logged, and answered as JSON; accepted emails are announced once the answer is out.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { FaultBody } from "./fault-plan.ts";
import { HttpError } from "./resend-error.ts";
import type { Reply, Router } from "./router.ts";
import type { StandinState } from "./state.ts";

export interface StandinServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function serve(
  state: StandinState,
  router: Router,
  { port = 0, host = "127.0.0.1" }: { port?: number | undefined; host?: string | undefined },
): Promise<StandinServer> {
  const server = createServer((req, res) => {
    handle(req, res, state, router).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${bound}`,
    port: bound,
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, state: StandinState, router: Router): Promise<void> {
  const url = new URL(req.url ?? "/", "http://standin");
  const path = url.pathname;
  const method = req.method ?? "GET";
  const at = Date.now();
  const name = router.nameOf(method, path);
  if (name) state.routeCalls.set(name, (state.routeCalls.get(name) ?? 0) + 1);
  let reply: Reply;
  try {
    await state.faults.strike(name);
    reply = await router.answer(req, method, path, url.searchParams);
  } catch (error) {
    if (error instanceof FaultBody) {
      // The test's body stands in for the route's answer: nothing was accepted, so nothing is announced.
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(error.body));
      state.requests.push({ method, path, status: 200, route: name, at });
      return;
    }
    const body =
      error instanceof HttpError ? error.body : { statusCode: 500, name: "application_error", message: String(error) };
    reply = { status: body.statusCode, body };
  }
  state.requests.push({ method, path, status: reply.status, route: name, at });
  if (res.destroyed) return;
  res.writeHead(reply.status, { "content-type": "application/json" });
  res.end(JSON.stringify(reply.body));
  if (reply.status === 200 && method === "POST" && (name === "POST /emails" || name === "POST /emails/batch"))
    state.emails.announce(reply.body);
}
