// A local stand-in for Resend's HTTP API (the emails endpoints), for tests and the demo: the one
// fake mailstate allows. Point the `resend` package at it with `new Resend(key, { baseUrl: standin.url })`.
// Given `webhook`, it posts each accepted email's lifecycle back as Svix-signed webhooks.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LastEvent } from "@mailstate/resend-events";
import {
  createWebhookSender,
  noWebhookCounters,
  type WebhookCounters,
  type WebhookOptions,
  type WebhookSender,
} from "./webhooks.ts";

export { DEFAULT_RATES, firstLink, type Lifecycle, type Outcome, type WebhookRates } from "./lifecycle.ts";
export { createRandom, type Random } from "./random.ts";
export {
  newMessageId,
  type PlannedEmail,
  type WebhookCounters,
  type WebhookDelivery,
  type WebhookLogEntry,
  type WebhookLogStatus,
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
  /** The id of the webhook endpoint whose delivery log GET /webhooks/:id/events serves. Default `wh_standin`. */
  webhookId?: string;
  /**
   * Post `suppression.added` when an address lands on the account's list (a hard bounce, a
   * complaint, POST /suppressions) and `suppression.removed` when it leaves it, as Resend does for
   * endpoints subscribed to them. Default false.
   */
  suppressionEvents?: boolean;
}

/** One address on the account's suppression list, as Resend's API answers it. */
export interface StandinSuppression {
  id: string;
  email: string;
  origin: "bounce" | "complaint" | "manual";
  source_id: string | null;
  created_at: string;
}

/** A contact of an audience (PATCH /audiences/:id/contacts/:email updates it). */
export interface StandinContact {
  id: string;
  email: string;
  audienceId: string;
  unsubscribed: boolean;
}

/** A fault to answer instead of the route's own reply: a status, or a delay before the real answer. */
export interface StandinFault {
  /** Route name, e.g. `GET /emails/:id` (see `routeCalls`). */
  route: string;
  /** Answer this status with a Resend-like error body. */
  status?: number;
  /** Hold the answer this long (a timeout, from the client's side). */
  delayMs?: number;
  /** Answer 200 with this body instead of the route's (an answer that does not parse). */
  body?: unknown;
  /** How many calls it hits; default 1. */
  times?: number;
  /** How many calls of the route are answered as usual before it hits; default 0. */
  skip?: number;
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
  /** `scheduled_at` as posted: the stand-in never sends a scheduled email, it stays scheduled until cancelled. */
  scheduledAt?: string;
  /** Cancelled by POST /emails/:id/cancel while scheduled. */
  canceled?: boolean;
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
  /** Every request, for tests that count calls (method, path, status, route name, when it arrived). */
  requests: { method: string; path: string; status: number; route: string | null; at: number }[];
  /** Calls per route name (`GET /emails/:id`, `POST /suppressions`, …), answered or not. */
  routeCalls: Map<string, number>;
  /** The account's suppression list, by normalized address. */
  suppressions: Map<string, StandinSuppression>;
  /** Contacts by `<audienceId>/<email>`. */
  contacts: Map<string, StandinContact>;
  addContact(audienceId: string, email: string): StandinContact;
  /** Answer the next calls of a route with a fault (429, 500, a delay). */
  injectFault(fault: StandinFault): void;
  /** Force what GET /emails/:id answers as last_event for an email. */
  setLastEvent(emailId: string, lastEvent: LastEvent): void;
  /**
   * An email of the account's history, as if sent before mailstate was adopted: listed by GET /emails
   * (newest first by `createdAt`, default now) with `lastEvent` (default `delivered`); no webhook.
   */
  addHistory(email: {
    to: string | string[];
    from?: string;
    subject?: string;
    createdAt?: Date;
    lastEvent?: LastEvent;
  }): StoredEmail;
  /** The webhook endpoint id of the delivery log. */
  webhookId: string;
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

/** An injected answer of 200 with a body of the test's choosing. */
class FaultBody extends Error {
  constructor(readonly body: unknown) {
    super("fault body");
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
  query: URLSearchParams;
}

type Handler = (context: Context) => Reply;

export async function createResendStandin(options: StandinOptions = {}): Promise<ResendStandin> {
  const sent: StoredEmail[] = [];
  const batchCalls: BatchCall[] = [];
  const requests: ResendStandin["requests"] = [];
  const emails = new Map<string, StoredEmail>();
  const listeners = new Set<(email: StoredEmail) => void>();
  const announced = new Set<string>();
  const routeCalls = new Map<string, number>();
  const contacts = new Map<string, StandinContact>();
  const suppressionList = new Map<string, StandinSuppression>();
  const forcedLastEvent = new Map<string, LastEvent>();
  const faults: (StandinFault & { left: number; skip: number })[] = [];
  const webhookId = options.webhookId ?? "wh_standin";
  /** After the latest an email's own webhooks are posted (their delay), so suppression.added comes after them. */
  const webhookDelayMs = (options.webhook?.maxDelayMs ?? 250) + 50;
  /** Idempotency-Key → the request body it first came with and the answer it got. */
  const idempotent = new Map<string, { path: string; body: string; reply: Reply }>();
  const webhooks = options.webhook ? createWebhookSender(options.webhook) : null;
  /** The addresses the lifecycle consults: the sender's set when there is one, so both agree. */
  const onList = webhooks?.suppressed ?? new Set<string>();
  if (webhooks)
    listeners.add((email) => {
      // A scheduled send says so, and then waits: the stand-in never reaches its time.
      if (email.scheduledAt) {
        webhooks.emit("email.scheduled", {
          email_id: email.id,
          created_at: email.createdAt,
          from: email.from,
          to: email.to,
          subject: email.subject,
        });
        return;
      }
      const plan = webhooks.schedule(email);
      const origin = plan.outcome === "complained" ? "complaint" : "bounce";
      // Resend lists the address when the bounce or complaint happens, and says so after it.
      const happensIn = Math.max(0, (plan.events.at(-1)?.occurredAt ?? Date.now()) - Date.now());
      for (const address of plan.suppresses) suppress(address, origin, email.id, happensIn + webhookDelayMs);
    });

  function suppress(address: string, origin: StandinSuppression["origin"], sourceId: string | null, delayMs = 0) {
    const email = address.trim().toLowerCase();
    const existing = suppressionList.get(email);
    if (existing) return existing;
    const entry: StandinSuppression = {
      id: randomUUID(),
      email,
      origin,
      source_id: sourceId,
      created_at: new Date().toISOString(),
    };
    suppressionList.set(email, entry);
    onList.add(email);
    if (options.suppressionEvents) webhooks?.emit("suppression.added", { ...entry }, delayMs);
    return entry;
  }

  function unsuppress(idOrEmail: string): StandinSuppression | null {
    const key = idOrEmail.trim().toLowerCase();
    const entry = suppressionList.get(key) ?? [...suppressionList.values()].find((item) => item.id === idOrEmail);
    if (!entry) return null;
    suppressionList.delete(entry.email);
    onList.delete(entry.email);
    if (options.suppressionEvents) webhooks?.emit("suppression.removed", { ...entry });
    return entry;
  }

  function lastEventOf(email: StoredEmail): LastEvent {
    const forced = forcedLastEvent.get(email.id);
    if (forced) return forced;
    if (email.scheduledAt) return email.canceled ? "canceled" : "scheduled";
    if (!webhooks) return "sent";
    const last = webhooks.lastEventOf(email.id);
    return last ? (last.slice("email.".length) as LastEvent) : "queued";
  }

  /** An email as emails.get answers it. */
  function emailJson(email: StoredEmail) {
    return {
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
      scheduled_at: email.scheduledAt ?? null,
      message_id: `<${email.id}@email.amazonses.com>`,
      reply_to: null,
      last_event: lastEventOf(email),
      tags: email.tags,
    };
  }

  /** A page of a list, Resend's way: `limit` (1–100, default 20) items after the `after` id. */
  function page<T extends { id: string }>(items: T[], query: URLSearchParams) {
    const limit = Number(query.get("limit") ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw fail(422, "validation_error", "The `limit` parameter must be between 1 and 100.");
    const after = query.get("after");
    const start = after ? items.findIndex((item) => item.id === after) + 1 : 0;
    const data = items.slice(start, start + limit);
    return { object: "list", has_more: start + limit < items.length, data };
  }

  function contactUpdate({ body, params }: Context): Reply {
    const audienceId = params.audienceId ?? "";
    const key = params.idOrEmail ?? "";
    const contact =
      contacts.get(`${audienceId}/${key.toLowerCase()}`) ??
      [...contacts.values()].find((item) => item.id === key && item.audienceId === audienceId);
    if (!contact) throw fail(404, "not_found", "Contact not found");
    const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    if (typeof fields.unsubscribed === "boolean") contact.unsubscribed = fields.unsubscribed;
    return { status: 200, body: { object: "contact", id: contact.id } };
  }

  function webhookLog(params: Record<string, string>) {
    if (params.webhookId !== webhookId || !webhooks) throw fail(404, "not_found", "Webhook not found");
    return webhooks.log;
  }

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

  const routes: { name: string; method: string; pattern: RegExp; keys: string[]; handler: Handler }[] = [
    {
      name: "POST /emails",
      method: "POST",
      pattern: /^\/emails\/?$/,
      keys: [],
      handler: ({ body, idempotencyKey }) => {
        const valid = validateEmail(body, "");
        const scheduledAt = valid.scheduled_at;
        if (scheduledAt !== undefined && (typeof scheduledAt !== "string" || scheduledAt.trim() === ""))
          throw fail(422, "validation_error", "Invalid `scheduled_at` field.");
        const email = accept(valid, {
          ...(idempotencyKey ? { idempotencyKey } : {}),
          ...(scheduledAt ? { scheduledAt } : {}),
        });
        return { status: 200, body: { id: email.id } };
      },
    },
    {
      name: "GET /emails",
      method: "GET",
      pattern: /^\/emails\/?$/,
      keys: [],
      // Newest first, as Resend lists them; each without its body, as emails.list answers.
      handler: ({ query }) => {
        const newestFirst = [...emails.values()]
          .map((email, order) => ({ email, order }))
          .sort((a, b) => b.email.createdAt.localeCompare(a.email.createdAt) || b.order - a.order)
          .map(({ email }) => {
            const { html: _html, text: _text, tags: _tags, object: _object, ...listed } = emailJson(email);
            return listed;
          });
        return { status: 200, body: page(newestFirst, query) };
      },
    },
    {
      name: "POST /emails/:id/cancel",
      method: "POST",
      pattern: /^\/emails\/([^/]+)\/cancel\/?$/,
      keys: ["id"],
      handler: ({ params }) => {
        const email = emails.get(params.id ?? "");
        if (!email) throw fail(404, "not_found", "Email not found");
        if (!email.scheduledAt || email.canceled || forcedLastEvent.has(email.id))
          throw fail(422, "validation_error", "Email cannot be canceled: it is not scheduled.");
        email.canceled = true;
        return { status: 200, body: { object: "email", id: email.id } };
      },
    },
    {
      name: "POST /emails/batch",
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
      name: "GET /emails/:id",
      method: "GET",
      pattern: /^\/emails\/([^/]+)\/?$/,
      keys: ["id"],
      handler: ({ params }) => {
        const email = emails.get(params.id ?? "");
        if (!email) throw fail(404, "not_found", "Email not found");
        return { status: 200, body: emailJson(email) };
      },
    },
    {
      name: "GET /suppressions",
      method: "GET",
      pattern: /^\/suppressions\/?$/,
      keys: [],
      handler: ({ query }) => {
        const origin = query.get("origin");
        const entries = [...suppressionList.values()].filter((entry) => !origin || entry.origin === origin);
        return { status: 200, body: page(entries, query) };
      },
    },
    {
      name: "POST /suppressions",
      method: "POST",
      pattern: /^\/suppressions\/?$/,
      keys: [],
      handler: ({ body }) => {
        const email = typeof body === "object" && body !== null ? (body as Record<string, unknown>).email : undefined;
        if (typeof email !== "string" || !ADDRESS.test(email))
          throw fail(422, "validation_error", "Invalid `email` field.");
        const entry = suppress(email, "manual", null);
        return { status: 200, body: { object: "suppression", id: entry.id } };
      },
    },
    {
      name: "GET /suppressions/:idOrEmail",
      method: "GET",
      pattern: /^\/suppressions\/([^/]+)\/?$/,
      keys: ["idOrEmail"],
      handler: ({ params }) => {
        const key = params.idOrEmail ?? "";
        const entry =
          suppressionList.get(key.toLowerCase()) ?? [...suppressionList.values()].find((item) => item.id === key);
        if (!entry) throw fail(404, "not_found", "Suppression not found");
        return { status: 200, body: { object: "suppression", ...entry } };
      },
    },
    {
      name: "DELETE /suppressions/:idOrEmail",
      method: "DELETE",
      pattern: /^\/suppressions\/([^/]+)\/?$/,
      keys: ["idOrEmail"],
      handler: ({ params }) => {
        const entry = unsuppress(params.idOrEmail ?? "");
        if (!entry) throw fail(404, "not_found", "Suppression not found");
        return { status: 200, body: { object: "suppression", id: entry.id, deleted: true } };
      },
    },
    {
      name: "PATCH /audiences/:audienceId/contacts/:idOrEmail",
      method: "PATCH",
      pattern: /^\/audiences\/([^/]+)\/contacts\/([^/]+)\/?$/,
      keys: ["audienceId", "idOrEmail"],
      handler: contactUpdate,
    },
    {
      name: "GET /webhooks/:webhookId/events",
      method: "GET",
      pattern: /^\/webhooks\/([^/]+)\/events\/?$/,
      keys: ["webhookId"],
      handler: ({ params, query }) => {
        // Newest first, as Resend lists them.
        const entries = [...webhookLog(params).values()].reverse().map((entry) => ({
          id: entry.id,
          type: entry.type,
          created_at: entry.createdAt,
          status: entry.status,
        }));
        return { status: 200, body: page(entries, query) };
      },
    },
    {
      name: "GET /webhooks/:webhookId/events/:eventId",
      method: "GET",
      pattern: /^\/webhooks\/([^/]+)\/events\/([^/]+)\/?$/,
      keys: ["webhookId", "eventId"],
      handler: ({ params }) => {
        const entry = webhookLog(params).get(params.eventId ?? "");
        if (!entry) throw fail(404, "not_found", "Webhook event not found");
        return {
          status: 200,
          body: {
            object: "webhook_event",
            id: entry.id,
            type: entry.type,
            created_at: entry.createdAt,
            status: entry.status,
            next_attempt_at: null,
            payload: JSON.parse(entry.body),
          },
        };
      },
    },
    {
      name: "POST /webhooks/:webhookId/events/:eventId/replay",
      method: "POST",
      pattern: /^\/webhooks\/([^/]+)\/events\/([^/]+)\/replay\/?$/,
      keys: ["webhookId", "eventId"],
      handler: ({ params }) => {
        webhookLog(params);
        if (!webhooks?.replay(params.eventId ?? "")) throw fail(404, "not_found", "Webhook event not found");
        return { status: 200, body: { object: "webhook_event", id: params.eventId } };
      },
    },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://standin");
    const path = url.pathname;
    const method = req.method ?? "GET";
    const at = Date.now();
    const name = routes.find((candidate) => candidate.method === method && candidate.pattern.test(path))?.name ?? null;
    if (name) routeCalls.set(name, (routeCalls.get(name) ?? 0) + 1);
    let reply: Reply;
    try {
      const fault = name ? faults.find((candidate) => candidate.route === name && candidate.left > 0) : undefined;
      if (fault && fault.skip > 0) fault.skip -= 1;
      else if (fault) {
        fault.left -= 1;
        if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        if (fault.body !== undefined) throw new FaultBody(fault.body);
        if (fault.status)
          throw fail(
            fault.status,
            fault.status === 429 ? "rate_limit_exceeded" : "application_error",
            fault.status === 429 ? "Too many requests." : "Internal server error.",
          );
      }
      reply = await route(req, method, path, url.searchParams);
    } catch (error) {
      if (error instanceof FaultBody) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(error.body));
        requests.push({ method, path, status: 200, route: name, at });
        return;
      }
      const body =
        error instanceof HttpError
          ? error.body
          : { statusCode: 500, name: "application_error", message: String(error) };
      reply = { status: body.statusCode, body };
    }
    requests.push({ method, path, status: reply.status, route: name, at });
    if (res.destroyed) return;
    res.writeHead(reply.status, { "content-type": "application/json" });
    res.end(JSON.stringify(reply.body));
    if (reply.status === 200 && method === "POST" && (name === "POST /emails" || name === "POST /emails/batch")) {
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

  async function route(req: IncomingMessage, method: string, path: string, query: URLSearchParams): Promise<Reply> {
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
    const rawBody = method === "POST" || method === "PATCH" ? await readBody(req) : "";
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
    const reply = found.candidate.handler({ body: parseJson(rawBody, method), idempotencyKey, params, query });
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
    routeCalls,
    suppressions: suppressionList,
    contacts,
    webhookId,
    addContact(audienceId, email) {
      const contact: StandinContact = { id: randomUUID(), email: email.toLowerCase(), audienceId, unsubscribed: false };
      contacts.set(`${audienceId}/${contact.email}`, contact);
      return contact;
    },
    injectFault(fault) {
      faults.push({ ...fault, left: fault.times ?? 1, skip: fault.skip ?? 0 });
    },
    setLastEvent(emailId, lastEvent) {
      forcedLastEvent.set(emailId, lastEvent);
    },
    addHistory({ to, from = "Acme <hello@acme.test>", subject = "Welcome to Acme", createdAt, lastEvent }) {
      const email = accept(
        { from, to, subject, text: subject },
        createdAt ? { createdAt: createdAt.toISOString() } : {},
      );
      forcedLastEvent.set(email.id, lastEvent ?? "delivered");
      return email;
    },
    emails,
    webhooks,
    get counters() {
      return webhooks?.counters ?? noWebhookCounters();
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
      routeCalls.clear();
      contacts.clear();
      suppressionList.clear();
      onList.clear();
      forcedLastEvent.clear();
      faults.length = 0;
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
