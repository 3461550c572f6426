// The contacts of the account's audiences, by `<audienceId>/<email>`.
import { randomUUID } from "node:crypto";
import type { StandinContact } from "./types.ts";

export interface ContactBook {
  readonly entries: Map<string, StandinContact>;
  add(audienceId: string, email: string): StandinContact;
  /** A contact of the audience, by address or id. */
  find(audienceId: string, idOrEmail: string): StandinContact | undefined;
  reset(): void;
}

export function createContactBook(): ContactBook {
  const entries = new Map<string, StandinContact>();
  return {
    entries,
    add(audienceId, email) {
      const contact: StandinContact = { id: randomUUID(), email: email.toLowerCase(), audienceId, unsubscribed: false };
      entries.set(`${audienceId}/${contact.email}`, contact);
      return contact;
    },
    find: (audienceId, idOrEmail) =>
      entries.get(`${audienceId}/${idOrEmail.toLowerCase()}`) ??
      [...entries.values()].find((item) => item.id === idOrEmail && item.audienceId === audienceId),
    reset: () => entries.clear(),
  };
}
