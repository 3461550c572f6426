// Resend writes times both as `…00.123Z` and `…00.894719+00:00`; ordering
// events needs their full microsecond precision, which `Date` cannot hold.

export interface ResendTimestamp {
  /** Microseconds since the Unix epoch: the exact instant, for ordering. */
  readonly epochMicros: bigint;
  /** Fixed-width UTC form `YYYY-MM-DDTHH:MM:SS.ffffffZ`; sorts like `epochMicros`. */
  readonly key: string;
  /** The instant truncated to milliseconds. */
  readonly date: Date;
}

// ISO 8601 / RFC 3339 extended format. `T`, `t` or a space between date and
// time; seconds and fraction optional; `,` or `.` before the fraction; offset
// `Z`, `±HH:MM`, `±HHMM` or `±HH`. A time without an offset is taken as UTC
// (Resend always writes UTC; guessing a local zone would make the order
// depend on the machine). A date alone is midnight UTC.
const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,12}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?)?$/;

const MICROS_PER_SECOND = 1_000_000n;
const MIN_KEYABLE_MICROS = -62_167_219_200_000_000n; // 0000-01-01T00:00:00Z
const MAX_KEYABLE_MICROS = 253_402_300_799_999_999n; // 9999-12-31T23:59:59.999999Z

export class InvalidTimestampError extends Error {
  override readonly name = "InvalidTimestampError";
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super(`Invalid timestamp ${JSON.stringify(input)}: ${reason}`);
  }
}

// Folds parse the same few timestamps again at every change of a notification; a parsed value is
// immutable, so the last few thousand are kept.
const MEMO_LIMIT = 10_000;
const memo = new Map<string, ResendTimestamp>();

/** Parses any ISO 8601 extended date-time; throws `InvalidTimestampError`. */
export function parseResendTimestamp(input: string): ResendTimestamp {
  const known = memo.get(input);
  if (known) return known;
  const parsed = Object.freeze(parseUncached(input));
  if (memo.size >= MEMO_LIMIT) memo.clear();
  memo.set(input, parsed);
  return parsed;
}

function parseUncached(input: string): ResendTimestamp {
  const match = ISO_PATTERN.exec(input.trim());
  if (!match) throw new InvalidTimestampError(input, "not an ISO 8601 date-time");
  const [, y, mo, d, h = "0", mi = "0", s = "0", fraction = "", zulu, sign, offH = "0", offM = "0"] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12) throw new InvalidTimestampError(input, "month out of range");
  if (day < 1 || day > daysInMonth(year, month)) throw new InvalidTimestampError(input, "day out of range");
  if (hour > 23 || minute > 59 || second > 59) throw new InvalidTimestampError(input, "time out of range");
  const offsetHours = Number(offH);
  const offsetMinutes = Number(offM);
  if (offsetHours > 23 || offsetMinutes > 59) throw new InvalidTimestampError(input, "offset out of range");
  const offsetSeconds = zulu || !sign ? 0 : (sign === "-" ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);

  const epochSeconds = daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds;
  // Digits past the sixth (nanoseconds and beyond) are truncated.
  const micros = BigInt(fraction.padEnd(6, "0").slice(0, 6));
  const epochMicros = BigInt(epochSeconds) * MICROS_PER_SECOND + micros;
  if (epochMicros < MIN_KEYABLE_MICROS || epochMicros > MAX_KEYABLE_MICROS) {
    throw new InvalidTimestampError(input, "outside years 0000-9999 in UTC");
  }
  return fromEpochMicros(epochMicros);
}

/** Like `parseResendTimestamp`, but `null` instead of throwing. */
export function tryParseResendTimestamp(input: string): ResendTimestamp | null {
  try {
    return parseResendTimestamp(input);
  } catch (error) {
    if (error instanceof InvalidTimestampError) return null;
    throw error;
  }
}

export function isResendTimestamp(input: string): boolean {
  return tryParseResendTimestamp(input) !== null;
}

/** Orders two timestamps (negative, zero, positive), for `Array#sort`. */
export function compareResendTimestamps(a: ResendTimestamp, b: ResendTimestamp): number {
  return a.epochMicros < b.epochMicros ? -1 : a.epochMicros > b.epochMicros ? 1 : 0;
}

function fromEpochMicros(epochMicros: bigint): ResendTimestamp {
  const seconds = floorDiv(epochMicros, MICROS_PER_SECOND);
  const micros = epochMicros - seconds * MICROS_PER_SECOND;
  const wholeSeconds = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return {
    epochMicros,
    key: `${wholeSeconds}.${micros.toString().padStart(6, "0")}Z`,
    date: new Date(Number(floorDiv(epochMicros, 1000n))),
  };
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
// days_from_civil); avoids `Date.UTC`, which maps years 0-99 to 1900-1999.
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}
