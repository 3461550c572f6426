// The webhook endpoint's delivery log, as Resend shows it (GET /webhooks/:id/events): each message
// once, by svix id, with its status and original payload; and the post behind each, for replays.
import type { AttemptResult, Post } from "./webhook-poster.ts";

/** Resend's statuses of one message in a webhook endpoint's delivery log. */
export type WebhookLogStatus = "success" | "pending" | "failed" | "attempting";

/** One message of the endpoint's delivery log (GET /webhooks/:id/events), with its original payload. */
export interface WebhookLogEntry {
  id: string;
  type: string;
  createdAt: string;
  status: WebhookLogStatus;
  body: string;
  emailId: string | null;
  /** Lost on purpose (lossRate): failed without a post. */
  lost: boolean;
  /** Times it was replayed (POST /webhooks/:id/events/:eid/replay). */
  replays: number;
}

export interface WebhookLog {
  /** By svix id, in the order messages were created. */
  readonly entries: Map<string, WebhookLogEntry>;
  /** Log a message once (a duplicate post shares its svix id); a lost one is failed at once. */
  record(post: Post, createdAt: number, lost: boolean): void;
  /** Move a message's status on after one of its posts was answered. */
  attempted(result: AttemptResult): void;
  /** The post of a logged message, now marked as replayed; undefined when the svix id is unknown. */
  replay(svixId: string): Post | undefined;
  reset(): void;
}

export function createWebhookLog(): WebhookLog {
  const entries = new Map<string, WebhookLogEntry>();
  const posts = new Map<string, Post>();
  return {
    entries,
    record(post, createdAt, lost) {
      posts.set(post.svixId, post);
      if (entries.has(post.svixId)) return;
      entries.set(post.svixId, {
        id: post.svixId,
        type: post.type,
        createdAt: new Date(createdAt).toISOString(),
        status: lost ? "failed" : "pending",
        body: post.body,
        emailId: post.emailId || null,
        lost,
        replays: 0,
      });
    },
    attempted({ post, ok, retrying }) {
      const entry = entries.get(post.svixId);
      // A message counts as delivered once any of its posts was: a duplicate's failure does not undo it.
      if (!entry || entry.status === "success") return;
      entry.status = retrying ? "attempting" : ok ? "success" : "failed";
    },
    replay(svixId) {
      const post = posts.get(svixId);
      const entry = entries.get(svixId);
      if (!post || !entry) return undefined;
      entry.replays += 1;
      entry.status = "attempting";
      return post;
    },
    reset() {
      entries.clear();
      posts.clear();
    },
  };
}
