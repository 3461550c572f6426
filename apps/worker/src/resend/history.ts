// Importing Resend's history (`mailstate import`): the emails an account sent before mailstate was
// adopted, listed by emails.list, become notifications, their state learned from `last_event` by the
// sweeper's heal path (last-event.ts). One page at a time: it is read whole and checked before
// anything of it is written.
import { erasedEmails, type ImportedEmail, imports, type SqlPool } from "@mailstate/db";
import { NOT_FOUND, ResendCallError, type ResendClient } from "@mailstate/resend-api";
import { tryParseResendTimestamp } from "@mailstate/resend-events";
import { isTerminalState, normalizeEmail } from "@mailstate/state-machine";
import { z } from "zod";
import type { Reconciler } from "../reconcile/reconciler.ts";
import { type ObservedEvent, observedEvent } from "./last-event.ts";

const timestamp = z.string().refine((value) => tryParseResendTimestamp(value) !== null, "not a timestamp");

/** An email as emails.list answers it: what the import keeps, and the rest passed through. */
const listedEmailSchema = z.looseObject({
  id: z.string().min(1),
  to: z.union([z.array(z.string()), z.string()]),
  from: z.string(),
  subject: z.string().nullish(),
  created_at: timestamp,
  last_event: z.string(),
  message_id: z.string().nullish(),
});
export type ListedEmail = z.infer<typeof listedEmailSchema>;

const emailPageSchema = z.looseObject({ has_more: z.boolean(), data: z.array(listedEmailSchema) });
export type EmailPage = z.infer<typeof emailPageSchema>;

/** Resend's answer did not parse: which page, and what was wrong. */
export class UnreadablePageError extends Error {
  constructor(
    readonly after: string | undefined,
    problem: string,
  ) {
    super(
      `Resend's answer to emails.list (the page after ${after ? `email ${after}` : "the start"}) does not parse: ${problem}`,
    );
    this.name = "UnreadablePageError";
  }
}

/** When the email was created at Resend. */
export const createdAtOf = (email: ListedEmail): Date =>
  tryParseResendTimestamp(email.created_at)?.date ?? new Date(Number.NaN);

/** One page after `after` (the start when undefined), checked whole. */
export async function listPage(client: ResendClient, after: string | undefined): Promise<EmailPage> {
  const answer = await client.listEmails(after);
  if (answer === NOT_FOUND) throw new ResendCallError("emails.list", 404, "not found");
  const parsed = emailPageSchema.safeParse(answer);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UnreadablePageError(after, `${issue?.path.join(".") || "the body"}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

function importedEmail(email: ListedEmail): ImportedEmail {
  return {
    emailId: email.id,
    recipients: (Array.isArray(email.to) ? email.to : [email.to]).map(normalizeEmail),
    from: email.from,
    subject: email.subject ?? "",
    createdAt: createdAtOf(email),
    messageId: email.message_id ?? null,
  };
}

export interface PageOutcome {
  /** Emails no notification carried: created (or, in a dry run, that would be). */
  imported: number;
  /** Emails already known: recorded by the app, imported before, or erased. Counted, not changed. */
  known: number;
  /** The state events appended from `last_event`. */
  healed: number;
}

/**
 * Import one page: a notification for each email nobody carries (nor erased), in one statement;
 * then the event its `last_event` stands for, and the events parked for it before the import. A
 * notification an earlier import created and left short of Resend's state (a run stopped between
 * the two steps) is healed too; the app's own notifications are never touched.
 */
export async function importPage(
  deps: { sql: SqlPool; reconciler: Reconciler },
  emails: ListedEmail[],
  { tenant, dryRun }: { tenant: string | null; dryRun: boolean },
): Promise<PageOutcome> {
  const ids = emails.map((email) => email.id);
  const [known, erased] = await Promise.all([imports.known(deps.sql, ids), erasedEmails.among(deps.sql, ids)]);
  const unknown = emails.filter((email) => !known.has(email.id) && !erased.has(email.id));
  if (dryRun) return { imported: unknown.length, known: emails.length - unknown.length, healed: 0 };

  const inserted = await imports.insert(deps.sql, unknown.map(importedEmail), tenant);
  const at = new Date();
  const heals: ObservedEvent[] = emails.flatMap((email) => {
    const before = inserted.has(email.id) ? "recorded" : known.get(email.id);
    const state = typeof before === "string" ? before : before?.importedAt ? before.state : null;
    if (state === null || isTerminalState(state)) return [];
    return observedEvent({ ...email, subject: email.subject ?? "" }, state, at) ?? [];
  });
  await Promise.all(
    heals.map((heal) => deps.reconciler.joinBatch({ svixId: heal.svixId, receivedAt: at, raw: heal.payload })),
  );
  // Webhooks that came before the import were parked: they apply now.
  if (inserted.size > 0) await deps.reconciler.replay([...inserted.keys()]);
  return { imported: inserted.size, known: emails.length - inserted.size, healed: heals.length };
}
