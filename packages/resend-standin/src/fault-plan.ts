// The faults tests inject (`injectFault`): a route answering an error status, late, or with a body
// that does not parse, for its next calls.
import { fail } from "./resend-error.ts";
import type { StandinFault } from "./types.ts";

/** An injected answer of 200 with a body of the test's choosing. */
export class FaultBody extends Error {
  constructor(readonly body: unknown) {
    super("fault body");
  }
}

export interface FaultPlan {
  inject(fault: StandinFault): void;
  /**
   * Play the fault due for this call of the route, if any: wait its delay, then throw its answer
   * (FaultBody, or HttpError for a status). Returns when the call is to be answered as usual.
   */
  strike(route: string | null): Promise<void>;
  reset(): void;
}

export function createFaultPlan(): FaultPlan {
  const faults: (StandinFault & { left: number; skip: number })[] = [];
  return {
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? 1, skip: fault.skip ?? 0 });
    },
    async strike(route) {
      const fault = route ? faults.find((candidate) => candidate.route === route && candidate.left > 0) : undefined;
      if (!fault) return;
      if (fault.skip > 0) {
        fault.skip -= 1;
        return;
      }
      fault.left -= 1;
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.body !== undefined) throw new FaultBody(fault.body);
      if (fault.status)
        throw fail(
          fault.status,
          fault.status === 429 ? "rate_limit_exceeded" : "application_error",
          fault.status === 429 ? "Too many requests." : "Internal server error.",
        );
    },
    reset() {
      faults.length = 0;
    },
  };
}
