// The lifecycle workload of `bench:lifecycle` and `bench:soak`: emails recorded as the SDK records
// them, then Resend's webhooks for each (sent, delivered, opened), as Resend sends them.
import type { WorkloadEvent } from "@mailstate/test-support";

export const LIFECYCLE_EVENTS = ["email.sent", "email.delivered", "email.opened"] as const;

export const emailId = (label: string, i: number) => `re_${label}_${i.toString().padStart(6, "0")}`;

/** Resend's webhook for one email: a body as Resend sends it, stamped one second apart per type. */
function webhook(label: string, i: number, type: string, step: number): WorkloadEvent {
  const id = emailId(label, i);
  const at = new Date(Date.parse("2026-12-01T10:00:00.000Z") + step * 1_000).toISOString();
  return {
    svixId: `msg_${label}_${i}_${type.slice(6)}`,
    emailId: id,
    body: {
      type,
      created_at: at,
      data: {
        created_at: at,
        email_id: id,
        from: "Acme <receipts@acme.test>",
        to: [`user${i}@example.com`],
        subject: "Your receipt from Acme",
      },
    },
  };
}

/** Each email's webhooks in the order Resend sends them, interleaved across emails in waves of 100. */
export function lifecycleWebhooks(label: string, emails: number): WorkloadEvent[] {
  const events: WorkloadEvent[] = [];
  for (let wave = 0; wave < emails; wave += 100) {
    for (const [step, type] of LIFECYCLE_EVENTS.entries()) {
      for (let i = wave; i < Math.min(emails, wave + 100); i += 1) events.push(webhook(label, i, type, step));
    }
  }
  return events;
}

export const recordBodies = (label: string, emails: number) =>
  Array.from({ length: emails }, (_, i) => ({
    to: [`user${i}@example.com`],
    from: "Acme <receipts@acme.test>",
    subject: "Your receipt from Acme",
    resendEmailId: emailId(label, i),
  }));
