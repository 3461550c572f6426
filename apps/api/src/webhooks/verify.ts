// Svix signature verification as a pure function of (raw bytes, headers, secrets, now).
import { isUtf8 } from "node:buffer";
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Webhook } from "svix";

/** Svix's own replay window: a timestamp further than this from now is refused. */
const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** Longest svix-id taken at all; Svix's are ~30 characters (`msg_…`). */
const MAX_ID_LENGTH = 256;

export type VerifyFailureReason =
  /** svix-id, svix-timestamp or svix-signature absent (or empty, or an absurdly long id). */
  | "headers_missing"
  /** svix-timestamp is not a whole number of seconds. */
  | "timestamp_invalid"
  /** svix-timestamp more than WEBHOOK_TOLERANCE_SECONDS before or after now. */
  | "timestamp_out_of_tolerance"
  /** No `v1` signature in svix-signature matches any configured secret. */
  | "signature_invalid";

export type VerifyResult =
  | { ok: true; svixId: string; timestamp: Date }
  | { ok: false; reason: VerifyFailureReason; svixId: string | undefined };

/** Headers as node gives them (lower-case keys). */
export type WebhookHeaders = IncomingHttpHeaders | Record<string, string | string[] | undefined>;

export type WebhookVerifier = (raw: Buffer, headers: WebhookHeaders, now: Date) => VerifyResult;

/** Svix sends `svix-*`; the Standard Webhooks names `webhook-*` are accepted too, as svix itself does. */
function header(headers: WebhookHeaders, name: "id" | "timestamp" | "signature"): string | undefined {
  const value = headers[`svix-${name}`] ?? headers[`webhook-${name}`];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function signatureBytes(signatureHeader: string): Buffer[] {
  // "v1,<base64> v1,<base64> …": several when Svix signs with more than one key; other versions are skipped.
  const signatures: Buffer[] = [];
  for (const part of signatureHeader.split(" ")) {
    if (part.startsWith("v1,")) signatures.push(Buffer.from(part.slice(3)));
  }
  return signatures;
}

const SECRET_PREFIX = "whsec_";
const PROBE = { id: "msg_probe", at: new Date(1_700_000_000_000), body: Buffer.from('{"type":"probe"}') };

/**
 * The `v1` signature of a message: base64 of HMAC-SHA256 over `<id>.<seconds>.<body>`, the HMAC
 * svix's own `sign()` computes (svix does it in JavaScript; node's crypto is several times cheaper
 * per webhook). svix signs the body's UTF-8 text: a body that is not valid UTF-8 is signed as svix
 * would decode it, so the answer is the same for every input.
 */
function signature(key: KeyObject, svixId: string, seconds: number, raw: Buffer): Buffer {
  const body = isUtf8(raw) ? raw : Buffer.from(raw.toString("utf8"));
  return Buffer.from(createHmac("sha256", key).update(`${svixId}.${seconds}.`).update(body).digest("base64"));
}

/**
 * The HMAC key of a `whsec_<base64>` secret. svix's constructor refuses a malformed secret, and a
 * probe message signed both ways proves that this key signs as svix does before any webhook is checked.
 */
function signingKey(secret: string): KeyObject {
  const svixSignature = new Webhook(secret).sign(PROBE.id, PROBE.at, PROBE.body).slice(3);
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = createSecretKey(Buffer.from(encoded, "base64"));
  const seconds = PROBE.at.getTime() / 1_000;
  if (!signature(key, PROBE.id, seconds, PROBE.body).equals(Buffer.from(svixSignature))) {
    throw new Error("a webhook secret decodes to a key that does not sign as svix does");
  }
  return key;
}

/**
 * Builds the verifier once per secret list, so the decoded keys are reused. svix's `verify()` reads
 * the real clock and throws; here the header and timestamp checks are done against `now`, and the
 * expected signature (svix's HMAC) is compared in constant time.
 */
export function createWebhookVerifier(secrets: readonly string[]): WebhookVerifier {
  if (secrets.length === 0) throw new Error("at least one webhook secret is required");
  const keys = secrets.map(signingKey);
  return (raw, headers, now) => {
    const rawId = header(headers, "id");
    const svixId = rawId !== undefined && rawId.length <= MAX_ID_LENGTH ? rawId : undefined;
    const timestampHeader = header(headers, "timestamp");
    const signatureHeader = header(headers, "signature");
    if (svixId === undefined || timestampHeader === undefined || signatureHeader === undefined) {
      return { ok: false, reason: "headers_missing", svixId };
    }
    if (!/^\d{1,12}$/.test(timestampHeader)) return { ok: false, reason: "timestamp_invalid", svixId };
    const seconds = Number(timestampHeader);
    const nowSeconds = Math.floor(now.getTime() / 1_000);
    if (Math.abs(nowSeconds - seconds) > WEBHOOK_TOLERANCE_SECONDS) {
      return { ok: false, reason: "timestamp_out_of_tolerance", svixId };
    }
    const timestamp = new Date(seconds * 1_000);
    const passed = signatureBytes(signatureHeader);
    if (passed.length > 0) {
      for (const key of keys) {
        const expected = signature(key, svixId, seconds, raw);
        for (const candidate of passed) {
          if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
            return { ok: true, svixId, timestamp };
          }
        }
      }
    }
    return { ok: false, reason: "signature_invalid", svixId };
  };
}

/** One-shot form of {@link createWebhookVerifier}. */
export function verifyWebhook(
  raw: Buffer,
  headers: WebhookHeaders,
  secrets: readonly string[],
  now: Date,
): VerifyResult {
  return createWebhookVerifier(secrets)(raw, headers, now);
}
