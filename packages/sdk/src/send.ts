// The suppression-aware send path: check every recipient, record first, send through Resend with the
// same idempotency key, then attach Resend's id. mailstate trouble never stops a send unless asked.
import { MailstateError } from "./errors.ts";
import type { Guard } from "./guard.ts";
import { chunks, LIMITS } from "./limits.ts";
import type { Mailstate, SendOptions, SendResult } from "./mailstate.ts";
import type { EmailLike, ResendBatchLike, ResendErrorLike, ResendLike } from "./resend-like.ts";
import type { RecordInput, SendOutcome, SuppressionReason } from "./types.ts";

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * The server's rule (`normalizeEmail` of @mailstate/state-machine), copied because the SDK depends on
 * nothing of mailstate; test/sdk-copies.test.ts checks the two agree. `Name <Ada@Example.com>` →
 * `ada@example.com`.
 */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim();
  const angled = /<([^<>]*)>$/.exec(trimmed);
  return (angled?.[1] ?? trimmed).trim().toLowerCase();
}

function recipientsOf(email: EmailLike): string[] {
  return [...new Set([...asList(email.to), ...asList(email.cc), ...asList(email.bcc)].map(normalizeAddress))];
}

function recordInputFor(email: EmailLike, options: SendOptions, idempotencyKey: string): RecordInput {
  const emailTags = Object.fromEntries((email.tags ?? []).map((tag) => [tag.name, tag.value]));
  return {
    to: asList(email.to),
    from: email.from ?? "(template default)",
    subject: email.subject ?? "",
    idempotencyKey,
    suppressionBypassed: options.bypassSuppression === true,
    tags: { ...emailTags, ...options.tags },
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    ...(options.category === undefined ? {} : { category: options.category }),
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
  };
}

/**
 * The Resend tag that names the notification an email was recorded as. Resend echoes tags in every
 * webhook, so mailstate matches the email's events to it even before Resend's id is attached.
 */
export const NOTIFICATION_TAG = "mailstate_id";
// The worker reads the same name (apps/worker/src/reconcile/decode.ts); the SDK depends on nothing of mailstate.

/** The email as sent: its own tags, plus the notification's id when it was recorded. */
function tagged<E extends EmailLike>(email: E, notificationId: string | null): E {
  if (notificationId === null) return email;
  const tags = (email.tags ?? []).filter((tag) => tag.name !== NOTIFICATION_TAG);
  return { ...email, tags: [...tags, { name: NOTIFICATION_TAG, value: notificationId }] };
}

function toMailstateError(error: unknown): MailstateError {
  if (error instanceof MailstateError) return error;
  return new MailstateError("internal", error instanceof Error ? error.message : String(error), { cause: error });
}

function thrownByResend(error: unknown): ResendErrorLike {
  return {
    name: "application_error",
    message: error instanceof Error ? error.message : String(error),
    statusCode: null,
  };
}

/** The suppressed recipients among these addresses; throws MailstateError when mailstate cannot say. */
async function suppressedAmong(
  api: Mailstate,
  addresses: string[],
  options: SendOptions,
  onResendList: Set<string> = new Set(),
): Promise<Map<string, SuppressionReason>> {
  const found = new Map<string, SuppressionReason>();
  if (!api.enabled || addresses.length === 0) return found;
  // The suppressions that apply to the tenant the send is recorded for (SUPPRESSION_SCOPE=tenant).
  const tenant = options.tenant === undefined ? {} : { tenant: options.tenant };
  for (const status of await api.checkSuppressions(addresses, tenant)) {
    if (status.suppressed && status.reason) found.set(status.email, status.reason);
    if (status.onResendList) onResendList.add(status.email);
  }
  return found;
}

/**
 * A bypass lifts mailstate's list, not Resend's: a recipient on Resend's own list is refused by
 * Resend (email.suppressed) all the same, and the result says so.
 */
function bypassWarnings(addresses: Iterable<string>, options: SendOptions): MailstateError[] {
  if (!options.bypassSuppression) return [];
  return [...addresses].map(
    (address) =>
      new MailstateError(
        "suppressed_by_resend",
        `${address} is on Resend's own suppression list: bypassSuppression lifts mailstate's list, not Resend's, ` +
          "so Resend will not deliver it (email.suppressed) until the address is removed from Resend's list",
      ),
  );
}

export async function sendWith<E extends EmailLike>(
  api: Mailstate,
  resend: ResendLike<E>,
  email: E,
  options: SendOptions = {},
  guard: Guard | null = null,
): Promise<SendResult> {
  const idempotencyKey = options.idempotencyKey ?? globalThis.crypto.randomUUID();
  const warnings: MailstateError[] = [];
  const recipients = recipientsOf(email);

  if (guard && !options.bypassSuppression) {
    const refusal = await guard.check(options.tenant, options.category, warnings, options.strict);
    if (refusal) return refusal;
  }

  let suppressed = new Map<string, SuppressionReason>();
  const onResendList = new Set<string>();
  try {
    suppressed = await suppressedAmong(api, recipients, options, onResendList);
  } catch (error) {
    if (options.strict)
      return { status: "failed", source: "mailstate", notificationId: null, error: toMailstateError(error) };
    warnings.push(toMailstateError(error));
  }
  if (suppressed.size > 0 && !options.bypassSuppression) {
    return {
      status: "suppressed",
      notificationId: null,
      suppressed: [...suppressed].map(([address, reason]) => ({ email: address, reason })),
    };
  }

  warnings.push(...bypassWarnings(onResendList, options));

  let notificationId: string | null = null;
  try {
    notificationId = (await api.record(recordInputFor(email, options, idempotencyKey))).notification?.id ?? null;
  } catch (error) {
    if (options.strict)
      return { status: "failed", source: "mailstate", notificationId: null, error: toMailstateError(error) };
    warnings.push(toMailstateError(error));
  }

  let answer: Awaited<ReturnType<ResendLike<E>["emails"]["send"]>>;
  try {
    answer = await resend.emails.send(tagged(email, notificationId), { idempotencyKey });
  } catch (error) {
    answer = { data: null, error: thrownByResend(error) };
  }
  const resendEmailId = answer.error ? null : answer.data.id;
  // The email is out, or Resend refused it; what mailstate fails to note of it is a warning, never a failure.
  const [noted = []] = await reportOutcomes(api, [notificationId], [resendEmailId], refusalIn(answer.error));
  warnings.push(...noted);
  if (answer.error) return { status: "failed", source: "resend", notificationId, error: answer.error, warnings };
  return { status: "sent", notificationId, resendEmailId: answer.data.id, warnings };
}

export async function sendBatchWith<E extends EmailLike>(
  api: Mailstate,
  resend: ResendBatchLike<E>,
  emails: E[],
  options: SendOptions = {},
  guard: Guard | null = null,
): Promise<SendResult[]> {
  const baseKey = options.idempotencyKey ?? globalThis.crypto.randomUUID();
  const results: (SendResult | undefined)[] = emails.map(() => undefined);
  const warnings: MailstateError[] = [];

  // Every email of the batch is of one tenant and category (the options'), so one judgement holds for all.
  if (guard && !options.bypassSuppression && emails.length > 0) {
    const refusal = await guard.check(options.tenant, options.category, warnings, options.strict);
    if (refusal) return emails.map(() => refusal);
  }

  let suppressed = new Map<string, SuppressionReason>();
  try {
    suppressed = await suppressedAmong(api, [...new Set(emails.flatMap(recipientsOf))], options);
  } catch (error) {
    if (options.strict) {
      const failure = toMailstateError(error);
      return emails.map(() => ({ status: "failed", source: "mailstate", notificationId: null, error: failure }));
    }
    warnings.push(toMailstateError(error));
  }

  const sendable: number[] = [];
  emails.forEach((email, index) => {
    const refused = recipientsOf(email).filter((address) => suppressed.has(address));
    if (refused.length > 0 && !options.bypassSuppression) {
      results[index] = {
        status: "suppressed",
        notificationId: null,
        suppressed: refused.map((address) => ({ email: address, reason: suppressed.get(address) ?? "manual" })),
      };
    } else {
      sendable.push(index);
    }
  });

  for (const [chunkIndex, indexes] of chunks(sendable, LIMITS.batch).entries()) {
    const sent = await sendChunk(api, resend, emails, indexes, { chunkIndex, baseKey, options, warnings });
    indexes.forEach((index, position) => {
      results[index] = sent[position];
    });
  }
  return results.map(
    (result) =>
      result ?? {
        status: "failed",
        source: "mailstate",
        notificationId: null,
        error: new MailstateError("internal", "the email was skipped"),
      },
  );
}

/**
 * One call of Resend's batch endpoint, for the emails at `indexes`: recorded first, sent tagged with
 * their notifications, then what came of each reported. One result per index, in order.
 */
async function sendChunk<E extends EmailLike>(
  api: Mailstate,
  resend: ResendBatchLike<E>,
  emails: E[],
  indexes: number[],
  {
    chunkIndex,
    baseKey,
    options,
    warnings,
  }: { chunkIndex: number; baseKey: string; options: SendOptions; warnings: MailstateError[] },
): Promise<SendResult[]> {
  const chunkWarnings = [...warnings];
  let notificationIds: (string | null)[] = indexes.map(() => null);
  try {
    const recorded = await api.recordBatch(
      indexes.map((index) => recordInputFor(emails[index] as E, options, `${baseKey}-${index}`)),
    );
    notificationIds = recorded.map((item) => item.notification?.id ?? null);
  } catch (error) {
    if (options.strict) {
      const failure = toMailstateError(error);
      return indexes.map(() => ({ status: "failed", source: "mailstate", notificationId: null, error: failure }));
    }
    chunkWarnings.push(toMailstateError(error));
  }

  const batch = indexes.map((index, position) => tagged(emails[index] as E, notificationIds[position] ?? null));
  let answer: Awaited<ReturnType<ResendBatchLike<E>["batch"]["send"]>>;
  try {
    answer = await resend.batch.send(batch, { idempotencyKey: `${baseKey}-batch-${chunkIndex}` });
  } catch (error) {
    answer = { data: null, error: thrownByResend(error) };
  }
  const ids = indexes.map((_, position) => (answer.error ? null : (answer.data.data[position]?.id ?? null)));
  const refusal = answer.error ?? MISSING_ID;
  const noted = await reportOutcomes(api, notificationIds, ids, refusalIn(answer.error));
  return indexes.map((_, position): SendResult => {
    const resendEmailId = ids[position];
    const notificationId = notificationIds[position] ?? null;
    const emailWarnings = [...chunkWarnings, ...(noted[position] ?? [])];
    return resendEmailId
      ? { status: "sent", notificationId, resendEmailId, warnings: emailWarnings }
      : { status: "failed", source: "resend", notificationId, error: refusal, warnings: emailWarnings };
  });
}

/** Resend answered a batch without an id for this email. */
const MISSING_ID: ResendErrorLike = {
  name: "application_error",
  message: "Resend answered the batch without an id for this email",
  statusCode: null,
};

/**
 * A refusal worth recording: Resend answered with an error status, so the email did not go out.
 * A thrown call or a timeout (no status) may have sent it: nothing is recorded, and its webhooks
 * still find the notification once the caller retries with the same idempotency key.
 */
function refusalIn(error: ResendErrorLike | null): ResendErrorLike | null {
  return error && typeof error.statusCode === "number" ? error : null;
}

/** Resend's error within what the API takes (names and messages are required, messages bounded). */
function sendErrorOf(refusal: ResendErrorLike | null) {
  const statusCode = refusal?.statusCode;
  return {
    name: (refusal?.name || "application_error").slice(0, 200),
    message: (refusal?.message || "Resend gave no message").slice(0, 2_000),
    statusCode:
      Number.isInteger(statusCode) && Number(statusCode) >= 100 && Number(statusCode) <= 599 ? statusCode : null,
  };
}

/**
 * Tell mailstate what came of each send, in one request: Resend's id where there is one (its
 * parked events get applied), else Resend's refusal. Answers each email's warnings.
 */
async function reportOutcomes(
  api: Mailstate,
  notificationIds: (string | null)[],
  resendIds: (string | null)[],
  refusal: ResendErrorLike | null,
): Promise<MailstateError[][]> {
  const warnings: MailstateError[][] = notificationIds.map(() => []);
  const outcomes: SendOutcome[] = [];
  const positions: number[] = [];
  notificationIds.forEach((notificationId, position) => {
    const resendEmailId = resendIds[position];
    if (!notificationId || (!resendEmailId && !refusal)) return;
    positions.push(position);
    outcomes.push(
      resendEmailId ? { notificationId, resendEmailId } : { notificationId, sendError: sendErrorOf(refusal) },
    );
  });
  if (outcomes.length === 0) return warnings;
  try {
    const results = await api.reportSendOutcomes(outcomes);
    results.forEach((result, index) => {
      if (result.status !== "conflict" && result.status !== "not_found") return;
      const status = result.status === "conflict" ? 409 : 404;
      warnings[positions[index] as number]?.push(new MailstateError(result.status, result.detail, { status }));
    });
  } catch (error) {
    for (const position of positions) warnings[position]?.push(toMailstateError(error));
  }
  return warnings;
}
