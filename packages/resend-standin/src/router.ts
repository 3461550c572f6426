// Which route a request is for, and what every route shares before its handler runs: the API key,
// the path's parameters, the JSON body, and Resend's Idempotency-Key.
import type { IncomingMessage } from "node:http";
import type { IdempotencyCache } from "./idempotency.ts";
import { fail } from "./resend-error.ts";

export interface Reply {
  status: number;
  body: unknown;
}

/** What a handler is given. */
interface Context {
  body: unknown;
  idempotencyKey: string | undefined;
  params: Record<string, string>;
  query: URLSearchParams;
}

export interface Route {
  /** As counted in `routeCalls` and named by faults, e.g. `GET /emails/:id`. */
  name: string;
  method: string;
  pattern: RegExp;
  /** The names of the pattern's groups, in order. */
  keys: string[];
  /** Answers, or throws an HttpError. */
  handler: (context: Context) => Reply;
}

export interface Router {
  /** The name of the route a request is for; null when none is. */
  nameOf(method: string, path: string): string | null;
  /** The route's answer; throws an HttpError for what is refused before (or by) its handler. */
  answer(req: IncomingMessage, method: string, path: string, query: URLSearchParams): Promise<Reply>;
}

export function createRouter(
  routes: readonly Route[],
  { apiKey, idempotency }: { apiKey: string | undefined; idempotency: IdempotencyCache<Reply> },
): Router {
  function match(method: string, path: string): { route: Route; params: Record<string, string> } {
    const found = routes
      .map((candidate) => ({ candidate, match: candidate.method === method ? candidate.pattern.exec(path) : null }))
      .find(({ match }) => match !== null);
    if (!found?.match) {
      const known = routes.some((candidate) => candidate.pattern.test(path));
      throw known ? fail(405, "method_not_allowed", "Method not allowed") : fail(404, "not_found", "Not found");
    }
    const params = Object.fromEntries(
      found.candidate.keys.map((key, index) => [key, decodeURIComponent(found.match?.[index + 1] ?? "")]),
    );
    return { route: found.candidate, params };
  }

  return {
    nameOf: (method, path) =>
      routes.find((candidate) => candidate.method === method && candidate.pattern.test(path))?.name ?? null,
    async answer(req, method, path, query) {
      authorize(req.headers.authorization, apiKey);
      const { route, params } = match(method, path);
      const rawBody = method === "POST" || method === "PATCH" ? await readBody(req) : "";
      const idempotencyKey = headerValue(req.headers["idempotency-key"]);
      const remembered = idempotencyKey === undefined ? undefined : idempotency.recall(idempotencyKey, path, rawBody);
      if (remembered) return remembered;
      const reply = route.handler({ body: parseJson(rawBody, method), idempotencyKey, params, query });
      // Like Resend, only successful answers are remembered: a fixed request may reuse the key.
      if (idempotencyKey !== undefined && reply.status < 300)
        idempotency.remember(idempotencyKey, path, rawBody, reply);
      return reply;
    },
  };
}

function authorize(header: string | undefined, apiKey: string | undefined): void {
  const key = /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1];
  if (!key || key === "undefined") throw fail(401, "missing_api_key", "Missing API key in the authorization header.");
  if (apiKey !== undefined && key !== apiKey) throw fail(403, "invalid_api_key", "API key is invalid.");
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseJson(raw: string, method: string): unknown {
  if (method !== "POST" && method !== "PATCH") return undefined;
  if (raw === "" && method === "PATCH") return {};
  // The SDK's replay posts no body.
  if (raw === "" && method === "POST") return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw fail(400, "validation_error", "The request body is not valid JSON.");
  }
}
