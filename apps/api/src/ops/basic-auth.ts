// HTTP basic auth for the ops pages (Bull Board, support). Both sides are hashed before a
// constant-time comparison, and username and password are always both compared, so the answer
// takes the same time whichever part is wrong and however long it is.
import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler, Response } from "express";
import type { LoginThrottle } from "./login-throttle.ts";

export interface OpsCredentials {
  username: string;
  password: string;
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/** The user and password of an `Authorization: Basic …` header, or null when there is none or it is malformed. */
export function parseBasicAuth(header: string | undefined): OpsCredentials | null {
  const match = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header ?? "");
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function credentialsMatch(presented: OpsCredentials, expected: { username: Buffer; password: Buffer }): boolean {
  const userOk = timingSafeEqual(digest(presented.username), expected.username);
  const passwordOk = timingSafeEqual(digest(presented.password), expected.password);
  return userOk && passwordOk;
}

export interface BasicAuthGate {
  credentials: OpsCredentials;
  throttle: LoginThrottle;
  onDenied(res: Response, reason: string): void;
  onThrottled(res: Response, retryAfterSeconds: number): void;
}

/**
 * Lets a request through with the right credentials. No credentials: a challenge, not counted (a
 * browser's first request has none). Wrong ones: counted against the (IP, user name) pair and the
 * IP; a right one starts the pair's count again. While either is over its limit: 429, whatever the password.
 */
export function requireBasicAuth({ credentials, throttle, onDenied, onThrottled }: BasicAuthGate): RequestHandler {
  const expected = { username: digest(credentials.username), password: digest(credentials.password) };
  const challenge = (res: Response, reason: string) => {
    res.set("WWW-Authenticate", 'Basic realm="mailstate ops", charset="UTF-8"');
    onDenied(res, reason);
  };
  return async (req, res, next) => {
    const presented = parseBasicAuth(req.get("authorization"));
    if (!presented) return challenge(res, "Sign in with the ops user name and password.");
    const ip = req.ip ?? req.socket.remoteAddress ?? "unknown";
    const { retryAfter, failuresInARow } = await throttle.check(ip, presented.username);
    if (retryAfter > 0) return onThrottled(res, retryAfter);
    if (credentialsMatch(presented, expected)) {
      // Only a pair with failures has a count to reset: a signed-in operator's requests cost no write.
      if (failuresInARow > 0) await throttle.recordSuccess(ip, presented.username);
      return next();
    }
    await throttle.recordFailure(ip, presented.username);
    challenge(res, "The user name or password is not right.");
  };
}
