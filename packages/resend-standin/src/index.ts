// A local stand-in for Resend's HTTP API (the emails endpoints), for tests and the demo: the one
// fake mailstate allows. Point the `resend` package at it with `new Resend(key, { baseUrl: standin.url })`.
// Given `webhook`, it posts each accepted email's lifecycle back as Svix-signed webhooks.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createWebhookSender, type WebhookCounters, type WebhookOptions, type WebhookSender } from "./webhooks.ts";

export { DEFAULT_RATES, firstLink, type Lifecycle, type Outcome, type WebhookRates } from "./lifecycle.ts";
export { createRandom, type Random } from "./random.ts";
export {
  newMessageId,
  type PlannedEmail,
  type WebhookCounters,
  type WebhookDelivery,
  type WebhookOptions,
  type WebhookSender,
} from "./webhooks.ts";

export interface StandinOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** When set, only this bearer key is accepted (403 otherwise); any key is accepted by default. */
  apiKey?: string;
  /** When set, every accepted email's events are posted to `webhook.url`, signed with `webhook.secret`. */
  webhook?: WebhookOptions;
}

/** An email as Resend's API accepted it (snake_case fields, as posted), with the id it was given. */
export interface StoredEmail {
  id: string;
  from: string;
  to: string[];
  subject: string;
  cc: string[];
  bcc: string[];
  html?: string;
  text?: string;
  tags: { name: string; value: string }[];
  createdAt: string;
  /** Present when the email came through POST /emails/batch: the index of that call. */
  batchCall?: number;
  idempotencyKey?: string;
  body: Record<string, unknown>;
}

export interface BatchCall {
  size: number;
  idempotencyKey?: string;
  ids: string[];
}

export interface ResendStandin {
  url: string;
  port: number;
  /** Every accepted email, in order. */
  sent: StoredEmail[];
  /** Every accepted POST /emails/batch. */
  batchCalls: BatchCall[];
  /** Every request, for tests that count calls (method, path, status). */
  requests: { method: string; path: string; status: number }[];
  emails: Map<string, StoredEmail>;
  /** Called for each accepted email, after the answer is decided. */
  onEmail(listener: (email: StoredEmail) => void): () => void;
  /** The webhook sender, when `webhook` was given. */
  webhooks: WebhookSender | null;
  /** Webhooks posted, retried, failed… (all zero without `webhook`). */
  readonly counters: WebhookCounters;
  /** Resolves once every webhook planned so far was delivered or given up (at once without `webhook`). */
  idle(timeoutMs?: number): Promise<void>;
  /** Forget everything sent so far. */
  reset(): void;
  /** Stops the server and cancels pending webhooks. */
  close(): Promise<void>;
}

interface ResendError {
  statusCode: number;
  name: string;
  message: string;
}

class HttpError extends Error {
  constructor(readonly body: ResendError) {
    super(body.message);
  }
}

const fail = (statusCode: number, name: string, message: string) => new HttpError({ statusCode, name, message });

const MAX_RECIPIENTS = 50;
const MAX_BATCH = 100;
const ADDRESS = /^(?:[^<>]*<\s*)?[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+(?:\s*>)?$/;

interface Reply {
  status: number;
  body: unknown;
}

interface Context {
  body: unknown;
  idempotencyKey: string | undefined;
  params: Record<string, string>;
}

type Handler = (context: Context) => Reply;

export async function createResendStandin(options: StandinOptions = {}): Promise<ResendStandin> {
  const sent: StoredEmail[] = [];
  const batchCalls: BatchCall[] = [];
  const requests: ResendStandin["requests"] = [];
  const emails = new Map<string, StoredEmail>();
  const listeners = new Set<(email: StoredEmail) => void>();
  const announced = new Set<string>();
  /** Idempotency-Key → the request body it first came with and the answer it got. */
  const idempotent = new Map<string, { path: string; body: string; reply: Reply }>();
  const webhooks = options.webhook ? createWebhookSender(options.webhook) : null;
  if (webhooks) listeners.add((email) => webhooks.schedule(email));

  function accept(raw: Record<string, unknown>, extra: Partial<StoredEmail>): StoredEmail {
    const email: StoredEmail = {
      id: randomUUID(),
      from: String(raw.from),
      to: list(raw.to),
      subject: String(raw.subject ?? ""),
      cc: list(raw.cc),
      bcc: list(raw.bcc),
      ...(typeof raw.html === "string" ? { html: raw.html } : {}),
      ...(typeof raw.text === "string" ? { text: raw.text } : {}),
      tags: Array.isArray(raw.tags) ? (raw.tags as { name: string; value: string }[]) : [],
      createdAt: new Date().toISOString(),
      body: raw,
      ...extra,
    };
    sent.push(email);
    emails.set(email.id, email);
    return email;
  }

  const routes: { method: string; pattern: RegExp; keys: string[]; handler: Handler }[] = [
    {
      method: "POST",
      pattern: /^\/emails\/?$/,
      keys: [],
      handler: ({ body, idempotencyKey }) => {
        const email = accept(validateEmail(body, ""), idempotencyKey ? { idempotencyKey } : {});
        return { status: 200, body: { id: email.id } };
      },
    },
    {
      method: "POST",
      pattern: /^\/emails\/batch\/?$/,
      keys: [],
      handler: ({ body, idempotencyKey }) => {
        if (!Array.isArray(body)) throw fail(422, "validation_error", "The request body must be an array of emails.");
        if (body.length === 0) throw fail(422, "validation_error", "The batch must contain at least one email.");
        if (body.length > MAX_BATCH)
          throw fail(422, "validation_error", `Too many emails in the batch: the maximum is ${MAX_BATCH}.`);
        // Strict validation, as Resend's default: one bad email refuses the whole batch.
        const valid = body.map((item, index) => validateEmail(item, `[${index}].`));
        const call = batchCalls.length;
        const ids = valid.map(
          (item) => accept(item, { batchCall: call, ...(idempotencyKey ? { idempotencyKey } : {}) }).id,
        );
        batchCalls.push({ size: ids.length, ids, ...(idempotencyKey ? { idempotencyKey } : {}) });
        return { status: 200, body: { data: ids.map((id) => ({ id })) } };
      },
    },
    {
      method: "GET",
      pattern: /^\/emails\/([^/]+)\/?$/,
      keys: ["id"],
      handler: ({ params }) => {
        const email = emails.get(params.id ?? "");
        if (!email) throw fail(404, "not_found", "Email not found");
        return {
          status: 200,
          body: {
            object: "email",
            id: email.id,
            from: email.from,
            to: email.to,
            subject: email.subject,
            cc: email.cc.length > 0 ? email.cc : null,
            bcc: email.bcc.length > 0 ? email.bcc : null,
            html: email.html ?? null,
            text: email.text ?? null,
            created_at: email.createdAt,
            last_event: "sent",
            tags: email.tags,
          },
        };
      },
    },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://standin").pathname;
    const method = req.method ?? "GET";
    let reply: Reply;
    try {
      reply = await route(req, method, path);
    } catch (error) {
      const body =
        error instanceof HttpError
          ? error.body
          : { statusCode: 500, name: "application_error", message: String(error) };
      reply = { status: body.statusCode, body };
    }
    requests.push({ method, path, status: reply.status });
    res.writeHead(reply.status, { "content-type": "application/json" });
    res.end(JSON.stringify(reply.body));
    if (reply.status === 200 && method === "POST") {
      for (const email of newlyAccepted(reply.body)) for (const listener of listeners) listener(email);
    }
  }

  function newlyAccepted(body: unknown): StoredEmail[] {
    const ids =
      typeof body === "object" && body !== null && "data" in body && Array.isArray(body.data)
        ? (body.data as { id: string }[]).map((item) => item.id)
        : typeof body === "object" && body !== null && "id" in body
          ? [String(body.id)]
          : [];
    // An idempotent replay answers ids already announced: they are not news.
    const fresh = ids.filter((id) => !announced.has(id));
    for (const id of fresh) announced.add(id);
    return fresh.flatMap((id) => emails.get(id) ?? []);
  }

  async function route(req: IncomingMessage, method: string, path: string): Promise<Reply> {
    authorize(req.headers.authorization, options.apiKey);
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
    const rawBody = method === "POST" ? await readBody(req) : "";
    const idempotencyKey = headerValue(req.headers["idempotency-key"]);
    if (idempotencyKey !== undefined) {
      if (idempotencyKey.length === 0 || idempotencyKey.length > 256)
        throw fail(400, "invalid_idempotency_key", "The key must be between 1-256 chars.");
      const previous = idempotent.get(idempotencyKey);
      if (previous) {
        if (previous.path !== path || previous.body !== rawBody)
          throw fail(409, "invalid_idempotent_request", "Same idempotency key used with a different request payload.");
        return previous.reply;
      }
    }
    const reply = found.candidate.handler({ body: parseJson(rawBody, method), idempotencyKey, params });
    // Like Resend, only successful answers are remembered: a fixed request may reuse the key.
    if (idempotencyKey !== undefined && reply.status < 300)
      idempotent.set(idempotencyKey, { path, body: rawBody, reply });
    return reply;
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    sent,
    batchCalls,
    requests,
    emails,
    webhooks,
    get counters() {
      return webhooks?.counters ?? { scheduled: 0, posted: 0, delivered: 0, duplicates: 0, retried: 0, failed: 0 };
    },
    idle(timeoutMs) {
      return webhooks ? webhooks.idle(timeoutMs) : Promise.resolve();
    },
    onEmail(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reset() {
      sent.length = 0;
      batchCalls.length = 0;
      requests.length = 0;
      emails.clear();
      announced.clear();
      idempotent.clear();
      webhooks?.reset();
    },
    close() {
      webhooks?.close();
      server.closeAllConnections();
      return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
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
  if (method !== "POST") return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw fail(400, "validation_error", "The request body is not valid JSON.");
  }
}

function list(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** Resend's checks on one email: the fields it requires, the shape of addresses, and its limits. */
function validateEmail(input: unknown, at: string): Record<string, unknown> {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw fail(422, "validation_error", `${at || "The body"} must be an object.`);
  const email = input as Record<string, unknown>;
  const usesTemplate = typeof email.template === "object" && email.template !== null;
  for (const field of usesTemplate ? ["to"] : ["from", "to", "subject"]) {
    if (email[field] === undefined || email[field] === null || email[field] === "")
      throw fail(422, "missing_required_field", `Missing \`${at}${field}\` field.`);
  }
  if (!usesTemplate && typeof email.html !== "string" && typeof email.text !== "string")
    throw fail(422, "validation_error", `${at}Missing \`html\` or \`text\` field.`);
  if (email.from !== undefined && !(typeof email.from === "string" && ADDRESS.test(email.from)))
    throw fail(
      422,
      "validation_error",
      `Invalid \`${at}from\` field. The email address needs to follow the \`email@example.com\` or \`Name <email@example.com>\` format.`,
    );
  for (const field of ["to", "cc", "bcc", "reply_to"]) {
    const addresses = email[field] === undefined ? [] : list(email[field]);
    if (addresses.length > MAX_RECIPIENTS)
      throw fail(
        422,
        "validation_error",
        `Too many recipients in \`${at}${field}\`: the maximum is ${MAX_RECIPIENTS}.`,
      );
    const bad = addresses.find((address) => !ADDRESS.test(address));
    if (bad !== undefined)
      throw fail(422, "validation_error", `Invalid \`${at}${field}\` field. \`${bad}\` is not a valid email address.`);
  }
  return email;
}
