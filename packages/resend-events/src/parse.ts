import type { z } from "zod";
import { type ResendEvent, resendEventSchema } from "./schemas.ts";

/** Parses a webhook body (already JSON-decoded); throws a `ZodError` naming the faulty field. */
export function parseResendEvent(input: unknown): ResendEvent {
  return resendEventSchema.parse(input);
}

export function safeParseResendEvent(input: unknown): z.ZodSafeParseResult<ResendEvent> {
  return resendEventSchema.safeParse(input);
}
