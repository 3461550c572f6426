// How much the API takes in one call, and the splitting into calls that respects it.

/** Largest lists the API (and Resend's batch endpoint) take in one call. */
export const LIMITS = { batch: 100, check: 1_000 } as const;

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}
