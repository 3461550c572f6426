// The first middleware: a URL over MAX_URL_LENGTH answers 414 before any other work is done on it.
import type { RequestHandler } from "express";
import { sendProblem } from "./problems.ts";

export function urlLengthCap(maxLength: number): RequestHandler {
  return (req, res, next) => {
    if (req.url.length <= maxLength) return next();
    sendProblem(res, "uri_too_long", `the URL is over ${maxLength} characters`);
  };
}
