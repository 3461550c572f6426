// Parse, don't validate: request parts go through their zod schema once, and a failure becomes one
// 400 problem whose detail names the fields and whose `errors` lists each with its path.
import type { z } from "zod";
import { AppError } from "../http/problems.ts";

export type Location = "body" | "query" | "params";

interface FieldError {
  location: Location;
  path: string;
  message: string;
}

export function parseRequest<S extends z.ZodType>(schema: S, input: unknown, location: Location): z.output<S> {
  const result = schema.safeParse(input ?? (location === "body" ? undefined : {}));
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    location,
    path: issue.path.length > 0 ? issue.path.map(String).join(".") : location,
    message: issue.message,
  }));
  const detail = errors.map((error) => `${error.path}: ${error.message}`).join("; ");
  throw new AppError("validation_failed", detail, { errors });
}
