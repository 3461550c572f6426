// The one way tests wait for something: poll a check until it holds, or fail saying what was awaited,
// for how long, and what was last seen.
import type { ResendStandin } from "@mailstate/resend-standin";

/**
 * A pause whose length is itself what the test sets or checks, never a guess at how long something
 * takes: the pace of a load the test generates (a request every 50 ms), the Retry-After an answer
 * asked for, an outage a fault test holds. What is reached eventually is waited for with
 * `waitUntil` instead.
 */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface WaitOptions {
  /** Pause between checks (default 50 ms). */
  intervalMs?: number;
  /** What to add to the timeout's message: the state that tells why it never held. */
  detail?: () => string | Promise<string>;
}

/**
 * Until `check` answers something other than `undefined` or `false`, which it returns; after
 * `timeoutMs`, an error naming `what` and the time waited. An error thrown by `check` ends the wait
 * at once (a check that knows the wait is hopeless, such as a process that exited, throws).
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs: number,
  { intervalMs = 50, detail }: WaitOptions = {},
): Promise<Exclude<T, false | undefined>> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as Exclude<T, false | undefined>;
    const waited = Date.now() - started;
    if (waited >= timeoutMs) {
      const more = detail ? `: ${await detail()}` : "";
      throw new Error(`timed out after ${waited} ms (limit ${timeoutMs} ms) waiting for ${what}${more}`);
    }
    await sleep(Math.min(intervalMs, timeoutMs - waited));
  }
}

/**
 * Until every email id's state, as `statesOf` reads it, is the one the stand-in planned for it
 * (`standin.webhooks.plans`); the timeout's message lists each id's state beside its plan.
 */
export async function waitForPlannedStates(
  standin: Pick<ResendStandin, "webhooks">,
  emailIds: string[],
  statesOf: (emailIds: string[]) => Promise<ReadonlyMap<string, string>>,
  timeoutMs: number,
): Promise<void> {
  const planned = (id: string) => standin.webhooks?.plans.get(id)?.expectedState;
  let states: ReadonlyMap<string, string> = new Map();
  await waitUntil(
    "every notification in its planned state",
    async () => {
      states = await statesOf(emailIds);
      return emailIds.every((id) => states.get(id) === planned(id));
    },
    timeoutMs,
    { intervalMs: 100, detail: () => JSON.stringify(emailIds.map((id) => [states.get(id), planned(id)])) },
  );
}

/**
 * Until `GET <baseUrl>/readyz` answers 200, whose body it returns. Readiness is reached, not instant:
 * "api listening" is logged before the first Redis connection is up, so a single read can say
 * "redis: down". The timeout's message carries the last answer.
 */
export async function waitForReady(baseUrl: string, timeoutMs = 10_000): Promise<unknown> {
  let last = "no answer yet";
  return waitUntil(
    `${baseUrl}/readyz to answer 200`,
    async () => {
      try {
        const response = await fetch(`${baseUrl}/readyz`);
        const body: unknown = await response.json();
        last = `${response.status} ${JSON.stringify(body)}`;
        return response.status === 200 ? body : undefined;
      } catch (error) {
        last = String(error);
        return undefined;
      }
    },
    timeoutMs,
    { detail: () => last },
  );
}
