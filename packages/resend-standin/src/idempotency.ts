// Resend's Idempotency-Key: a key's remembered answer is given again to the same request, and the
// key is refused with another request.
import { fail } from "./resend-error.ts";

export interface IdempotencyCache<Answer> {
  /** The answer remembered for the key, if any; throws for a malformed key, or one first used with another request. */
  recall(key: string, path: string, body: string): Answer | undefined;
  remember(key: string, path: string, body: string, answer: Answer): void;
  clear(): void;
}

export function createIdempotencyCache<Answer>(): IdempotencyCache<Answer> {
  /** Idempotency-Key → the request it first came with and the answer it got. */
  const seen = new Map<string, { path: string; body: string; answer: Answer }>();
  return {
    recall(key, path, body) {
      if (key.length === 0 || key.length > 256)
        throw fail(400, "invalid_idempotency_key", "The key must be between 1-256 chars.");
      const previous = seen.get(key);
      if (previous && (previous.path !== path || previous.body !== body))
        throw fail(409, "invalid_idempotent_request", "Same idempotency key used with a different request payload.");
      return previous?.answer;
    },
    remember(key, path, body, answer) {
      seen.set(key, { path, body, answer });
    },
    clear: () => seen.clear(),
  };
}
