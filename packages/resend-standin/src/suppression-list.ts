// The account's suppression list, by normalized address, as Resend keeps it; optionally announced
// with suppression.added / suppression.removed webhooks.
import { randomUUID } from "node:crypto";
import type { StandinSuppression } from "./types.ts";
import type { WebhookSender } from "./webhooks.ts";

export interface SuppressionList {
  readonly entries: Map<string, StandinSuppression>;
  /** List an address (once: listed again, the first entry stays); announced after `delayMs`. */
  add(
    address: string,
    origin: StandinSuppression["origin"],
    sourceId: string | null,
    delayMs?: number,
  ): StandinSuppression;
  /** Take an address off the list, by address or entry id; null when it is not on it. */
  remove(idOrEmail: string): StandinSuppression | null;
  find(idOrEmail: string): StandinSuppression | undefined;
  reset(): void;
}

export function createSuppressionList(webhooks: WebhookSender | null, announce: boolean): SuppressionList {
  const entries = new Map<string, StandinSuppression>();
  /** The addresses the lifecycle consults: the sender's set when there is one, so both agree. */
  const onList = webhooks?.suppressed ?? new Set<string>();
  const byId = (id: string) => [...entries.values()].find((entry) => entry.id === id);

  return {
    entries,
    add(address, origin, sourceId, delayMs = 0) {
      const email = address.trim().toLowerCase();
      const existing = entries.get(email);
      if (existing) return existing;
      const entry: StandinSuppression = {
        id: randomUUID(),
        email,
        origin,
        source_id: sourceId,
        created_at: new Date().toISOString(),
      };
      entries.set(email, entry);
      onList.add(email);
      if (announce) webhooks?.emit("suppression.added", { ...entry }, delayMs);
      return entry;
    },
    remove(idOrEmail) {
      const entry = entries.get(idOrEmail.trim().toLowerCase()) ?? byId(idOrEmail);
      if (!entry) return null;
      entries.delete(entry.email);
      onList.delete(entry.email);
      if (announce) webhooks?.emit("suppression.removed", { ...entry });
      return entry;
    },
    find: (idOrEmail) => entries.get(idOrEmail.toLowerCase()) ?? byId(idOrEmail),
    reset() {
      entries.clear();
      onList.clear();
    },
  };
}
