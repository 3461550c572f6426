// Parsed events by svix-id. A logged event never changes, so a worker may keep the parsed form of
// the events it has seen and skip reading and re-parsing them at every fold of their notification.
import type { ResendEvent } from "@mailstate/resend-events";

export class ParsedEventCache {
  private readonly entries = new Map<string, ResendEvent>();

  /** 20,000 parsed events hold about 12 MB: a few minutes of a notification's events at hundreds a second. */
  constructor(private readonly capacity = 20_000) {}

  get(svixId: string): ResendEvent | undefined {
    return this.entries.get(svixId);
  }

  set(svixId: string, event: ResendEvent): void {
    if (this.capacity === 0) return;
    if (this.entries.size >= this.capacity) {
      // Map keeps insertion order: drop the oldest tenth at once rather than one per insert.
      let drop = Math.ceil(this.capacity / 10);
      for (const key of this.entries.keys()) {
        this.entries.delete(key);
        if (--drop === 0) break;
      }
    }
    this.entries.set(svixId, event);
  }
}
