// The delivery states (the database enum uses these exact strings). Which event moves which state
// is the machine's (machine.ts), written out there.

export const DELIVERY_STATES = [
  "recorded",
  "scheduled",
  "sent",
  "delivery_delayed",
  "delivered",
  "bounced",
  "complained",
  "failed",
  "canceled",
  "suppressed",
] as const;

export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** Final in the machine: no event moves a notification out of these. */
export const TERMINAL_STATES = ["bounced", "complained", "failed", "canceled", "suppressed"] as const;
export type TerminalState = (typeof TERMINAL_STATES)[number];

/** The non-terminal states, in the order a delivery advances through them. */
export const PROGRESS_STATES = ["recorded", "scheduled", "sent", "delivery_delayed", "delivered"] as const;
export type ProgressState = (typeof PROGRESS_STATES)[number];

const terminal: ReadonlySet<string> = new Set(TERMINAL_STATES);

export function isTerminalState(state: DeliveryState): state is TerminalState {
  return terminal.has(state);
}
