// An email as posted to POST /emails or /emails/batch: Resend's checks on it, and the record the
// stand-in keeps of it.
import { randomUUID } from "node:crypto";
import { fail } from "./resend-error.ts";
import type { StoredEmail } from "./types.ts";

const MAX_RECIPIENTS = 50;
const ADDRESS = /^(?:[^<>]*<\s*)?[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+(?:\s*>)?$/;

/** `email@example.com` or `Name <email@example.com>`, as Resend accepts an address. */
export function isAddress(value: string): boolean {
  return ADDRESS.test(value);
}

function list(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : [String(value)];
}

/** Resend's checks on one email: the fields it requires, the shape of addresses, and its limits. */
export function validateEmail(input: unknown, at: string): Record<string, unknown> {
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
  if (email.from !== undefined && !(typeof email.from === "string" && isAddress(email.from)))
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
    const bad = addresses.find((address) => !isAddress(address));
    if (bad !== undefined)
      throw fail(422, "validation_error", `Invalid \`${at}${field}\` field. \`${bad}\` is not a valid email address.`);
  }
  return email;
}

/** The record of a posted email, with a new id; `extra` adds (or overrides) fields such as `batchCall`. */
export function toStoredEmail(raw: Record<string, unknown>, extra: Partial<StoredEmail>): StoredEmail {
  return {
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
}
