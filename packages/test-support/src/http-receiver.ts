// A local HTTP endpoint for tests of what mailstate sends out (outbound webhooks, OTLP traces): it
// records every request, answers what the test tells it to, and waits for what it has been sent.
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { waitUntil } from "./wait.ts";

export interface ReceivedRequest {
  method: string;
  /** The path and query of the request line. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as UTF-8 text, as it came (a signature is over these bytes). */
  body: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
  json: any;
  /** The status it was answered with. */
  status: number;
}

/** An answer: a status with an empty body, or a status with headers and a body. */
export type Reply = number | { status: number; headers?: OutgoingHttpHeaders; body?: string };

/** What decides each answer, from the request and how many came before it. */
export type Answerer = (request: Omit<ReceivedRequest, "status">, index: number) => Reply;

export interface HttpReceiverOptions {
  /** Appended to the origin in `url` (the receiver itself answers on every path). */
  path?: string;
  /** 200 with an empty body unless given; `answer` may be changed later. */
  answer?: Answerer;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class HttpReceiver {
  /** Every request so far, in arrival order. */
  readonly requests: ReceivedRequest[] = [];
  answer: Answerer;

  private constructor(
    private readonly server: Server,
    /** Where to send: the origin (on 127.0.0.1) and the path it was started with. */
    readonly url: string,
    answer: Answerer,
  ) {
    this.answer = answer;
  }

  /** Listening on a free port of 127.0.0.1. */
  static async start({ path = "", answer = () => 200 }: HttpReceiverOptions = {}): Promise<HttpReceiver> {
    let receiver: HttpReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const request = {
          method: req.method ?? "",
          path: req.url ?? "",
          headers: req.headers,
          body,
          json: parseJson(body),
        };
        const self = receiver as HttpReceiver;
        const reply = self.answer(request, self.requests.length);
        const { status, headers = {}, body: answer = "" } = typeof reply === "number" ? { status: reply } : reply;
        // Recorded before it is answered: a sender that saw the answer finds its request here.
        self.requests.push({ ...request, status });
        res.writeHead(status, headers).end(answer);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    receiver = new HttpReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, answer);
    return receiver;
  }

  /** The requests it answered 2xx, in arrival order. */
  accepted(): ReceivedRequest[] {
    return this.requests.filter((request) => request.status >= 200 && request.status < 300);
  }

  /**
   * Until `pick` finds what it looks for among the requests so far (anything but undefined or
   * false), which it returns. The timeout lists what came, or what `detail` says instead.
   */
  waitFor<T>(
    what: string,
    pick: (requests: readonly ReceivedRequest[]) => T | Promise<T>,
    timeoutMs = 15_000,
    detail: () => string = () => this.describe(),
  ): Promise<Exclude<T, false | undefined>> {
    return waitUntil(what, () => pick(this.requests), timeoutMs, { detail });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private describe(): string {
    const lines = this.requests.map(
      ({ status, method, path, body }) => `${status} ${method} ${path} ${body.slice(0, 200)}`,
    );
    return lines.length === 0 ? "no request came" : `came:\n${lines.join("\n")}`;
  }
}
