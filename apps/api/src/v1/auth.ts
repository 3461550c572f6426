// Bearer API keys for /v1. Both sides are hashed first, so every comparison takes the same time
// whatever the key's length or how much of it is right, and every configured key is compared.
import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";
import { AppError } from "../http/problems.ts";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

export function matchesAnyKey(candidate: string, keyDigests: readonly Buffer[]): boolean {
  const presented = digest(candidate);
  let matched = false;
  for (const key of keyDigests) matched = timingSafeEqual(presented, key) || matched;
  return matched;
}

export function requireApiKey(apiKeys: readonly string[]): RequestHandler {
  const keyDigests = apiKeys.map(digest);
  return (req, res, next) => {
    const header = req.get("authorization") ?? "";
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    const token = match?.[1];
    if (!token || !matchesAnyKey(token, keyDigests)) {
      res.set("WWW-Authenticate", 'Bearer realm="mailstate"');
      return next(
        new AppError("unauthorized", token ? "the API key is not valid" : "send Authorization: Bearer <API key>"),
      );
    }
    next();
  };
}
