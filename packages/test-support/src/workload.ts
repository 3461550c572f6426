// A deterministic workload of Resend webhooks for many notifications, with the outcome each must
// reach, for the end-to-end, crash and benchmark runs.
import { makeEvent } from "@mailstate/resend-events";
import { createRandom } from "@mailstate/resend-standin";

export interface WorkloadEvent {
  svixId: string;
  emailId: string;
  body: Record<string, unknown>;
}

export interface Workload {
  notifications: { emailId: string; recipients: string[] }[];
  events: WorkloadEvent[];
  expected: Map<string, { state: "delivered" | "bounced"; opens: number }>;
}

/** Every tenth email bounces (Permanent); the others are delivered; the rest of each email's events are opens. */
export function makeWorkload({
  notifications,
  eventsPerNotification,
  label = "w",
  seed = 1,
}: {
  notifications: number;
  eventsPerNotification: number;
  label?: string;
  seed?: number;
}): Workload {
  const opensPer = Math.max(0, eventsPerNotification - 2);
  const workload: Workload = { notifications: [], events: [], expected: new Map() };
  const base = Date.parse("2026-11-22T10:00:00.000Z");
  const at = (ms: number) => new Date(base + ms).toISOString();
  for (let i = 0; i < notifications; i += 1) {
    const emailId = `re_${label}_${i}`;
    const to = [`user${i}@example.com`];
    const bounces = i % 10 === 0;
    workload.notifications.push({ emailId, recipients: to });
    workload.expected.set(emailId, { state: bounces ? "bounced" : "delivered", opens: bounces ? 0 : opensPer });
    const data = { email_id: emailId, to };
    const push = (kind: string, body: object) =>
      workload.events.push({ svixId: `msg_${label}_${i}_${kind}`, emailId, body: body as Record<string, unknown> });
    push("sent", makeEvent("email.sent", { created_at: at(1_000), data }));
    if (bounces) {
      push(
        "bounced",
        makeEvent("email.bounced", { created_at: at(2_000), data: { ...data, bounce: { type: "Permanent" } } }),
      );
    } else {
      push("delivered", makeEvent("email.delivered", { created_at: at(2_000), data }));
    }
    for (let j = 0; j < opensPer; j += 1) {
      if (bounces) push(`dup${j}`, makeEvent("email.sent", { created_at: at(1_000), data }));
      else push(`open${j}`, makeEvent("email.opened", { created_at: at(3_000 + j), data }));
    }
  }
  shuffle(workload.events, seed);
  return workload;
}

/** Fisher-Yates with the stand-in's seeded generator, in place: the same seed, the same order. */
export function shuffle<T>(items: T[], seed: number): void {
  const random = createRandom(seed);
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random.next() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}
