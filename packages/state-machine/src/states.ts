// The delivery states (the database enum uses these exact strings) and the
// order that keeps late or repeated events from moving a state backwards.

export const DELIVERY_STATES = [
  "recorded",
  "scheduled",
  "sent",
  "delivery_delayed",
  "delivered",
  "bounced",
  "complained",
  "failed",
  "suppressed",
] as const;

export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** Final in the machine: no event moves a notification out of these. */
export const TERMINAL_STATES = ["bounced", "complained", "failed", "suppressed"] as const;
export type TerminalState = (typeof TERMINAL_STATES)[number];

/** The non-terminal states, in the order a delivery advances through them. */
export const PROGRESS_STATES = ["recorded", "scheduled", "sent", "delivery_delayed", "delivered"] as const;
export type ProgressState = (typeof PROGRESS_STATES)[number];

const terminal: ReadonlySet<string> = new Set(TERMINAL_STATES);

export function isTerminalState(state: DeliveryState): state is TerminalState {
  return terminal.has(state);
}

/**
 * Whether a notification in `from` may move to `to`: never out of a
 * terminal state, always into one, otherwise only up the progress order
 * (so a `delivery_delayed` after `delivered` changes nothing).
 */
export function movesForward(from: DeliveryState, to: DeliveryState): boolean {
  if (isTerminalState(from)) return false;
  if (isTerminalState(to)) return true;
  return PROGRESS_STATES.indexOf(to) > PROGRESS_STATES.indexOf(from);
}
