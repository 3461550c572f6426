import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareResendTimestamps,
  InvalidTimestampError,
  parseResendTimestamp,
  tryParseResendTimestamp,
} from "./timestamps.ts";

describe("parseResendTimestamp", () => {
  it("reads Resend's millisecond Z form", () => {
    const ts = parseResendTimestamp("2026-11-22T10:00:00.123Z");
    expect(ts.key).toBe("2026-11-22T10:00:00.123000Z");
    expect(ts.epochMicros).toBe(BigInt(Date.UTC(2026, 10, 22, 10, 0, 0, 123)) * 1000n);
    expect(ts.date.toISOString()).toBe("2026-11-22T10:00:00.123Z");
  });

  it("reads Resend's microsecond +00:00 form without losing the microseconds", () => {
    const ts = parseResendTimestamp("2026-11-22T10:00:00.894719+00:00");
    expect(ts.key).toBe("2026-11-22T10:00:00.894719Z");
    expect(ts.epochMicros).toBe(BigInt(Date.UTC(2026, 10, 22, 10, 0, 0)) * 1000n + 894_719n);
    expect(ts.date.toISOString()).toBe("2026-11-22T10:00:00.894Z");
  });

  it("orders the two forms at microsecond precision", () => {
    const millis = parseResendTimestamp("2026-11-22T10:00:00.123Z");
    const oneMicroLater = parseResendTimestamp("2026-11-22T10:00:00.123001+00:00");
    const sameInstant = parseResendTimestamp("2026-11-22T10:00:00.123000+00:00");
    // Same millisecond, so Date alone cannot tell them apart.
    expect(oneMicroLater.date.getTime()).toBe(millis.date.getTime());
    expect(compareResendTimestamps(millis, oneMicroLater)).toBe(-1);
    expect(compareResendTimestamps(oneMicroLater, millis)).toBe(1);
    expect(compareResendTimestamps(millis, sameInstant)).toBe(0);
    expect(oneMicroLater.epochMicros - millis.epochMicros).toBe(1n);
    expect(millis.key < oneMicroLater.key).toBe(true);
  });

  it.each([
    ["2026-11-22T11:30:00.5+01:30", "2026-11-22T10:00:00.500000Z"],
    ["2026-11-22T05:00:00-05:00", "2026-11-22T10:00:00.000000Z"],
    ["2026-11-22T15:30:00+0530", "2026-11-22T10:00:00.000000Z"],
    ["2026-11-22T12:00:00+02", "2026-11-22T10:00:00.000000Z"],
    ["2026-11-22 10:00:00.894719+00", "2026-11-22T10:00:00.894719Z"],
    ["2026-11-22t10:00:00z", "2026-11-22T10:00:00.000000Z"],
    ["2026-11-22T10:00:00,25Z", "2026-11-22T10:00:00.250000Z"],
    ["2026-11-22T10:00Z", "2026-11-22T10:00:00.000000Z"],
    ["2026-11-22T10:00:00.123456789Z", "2026-11-22T10:00:00.123456Z"],
    ["2026-11-22T10:00:00", "2026-11-22T10:00:00.000000Z"],
    ["2026-11-22", "2026-11-22T00:00:00.000000Z"],
    ["2026-11-23T00:30:00+01:00", "2026-11-22T23:30:00.000000Z"],
    ["2028-02-29T12:00:00Z", "2028-02-29T12:00:00.000000Z"],
    ["0099-01-01T00:00:00Z", "0099-01-01T00:00:00.000000Z"],
    ["1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"],
  ])("normalizes %s to %s", (input, key) => {
    const ts = parseResendTimestamp(input);
    expect(ts.key).toBe(key);
    expect(ts.date.getTime()).toBe(Date.parse(`${key.slice(0, 23)}Z`));
  });

  it("keeps pre-1970 instants ordered (floor, not truncation, toward milliseconds)", () => {
    const ts = parseResendTimestamp("1969-12-31T23:59:59.999999Z");
    expect(ts.epochMicros).toBe(-1n);
    expect(ts.date.getTime()).toBe(-1);
  });

  it.each([
    "",
    "yesterday",
    "2026-13-01T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-11-22T24:00:00Z",
    "2026-11-22T10:60:00Z",
    "2026-11-22T10:00:60Z",
    "2026-11-22T10:00:00+24:00",
    "2026-11-22T10:00:00.Z",
    "2026-11-22T10Z",
    "22/11/2026 10:00",
    "1732269600",
    "0000-01-01T00:00:00+01:00",
  ])("rejects %j", (input) => {
    expect(() => parseResendTimestamp(input)).toThrow(InvalidTimestampError);
    expect(tryParseResendTimestamp(input)).toBeNull();
  });

  it("agrees with Date on any millisecond instant, in any offset", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2199-12-31T00:00:00Z"), noInvalidDate: true }),
        fc.integer({ min: 0, max: 999 }),
        fc.integer({ min: -14 * 60, max: 14 * 60 }),
        (date, extraMicros, offsetMinutes) => {
          const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 23);
          const sign = offsetMinutes < 0 ? "-" : "+";
          const abs = Math.abs(offsetMinutes);
          const offset = `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
          const ts = parseResendTimestamp(`${local}${String(extraMicros).padStart(3, "0")}${offset}`);
          expect(ts.date.getTime()).toBe(date.getTime());
          expect(ts.epochMicros).toBe(BigInt(date.getTime()) * 1000n + BigInt(extraMicros));
        },
      ),
    );
  });

  it("gives keys whose string order is the instant order", () => {
    const micros = fc.bigInt({ min: -62_000_000_000_000_000n, max: 253_000_000_000_000_000n });
    fc.assert(
      fc.property(micros, micros, (a, b) => {
        const ka = parseResendTimestamp(keyOf(a)).key;
        const kb = parseResendTimestamp(keyOf(b)).key;
        expect(ka).toHaveLength(27);
        expect(ka < kb).toBe(a < b);
        expect(ka === kb).toBe(a === b);
        expect(parseResendTimestamp(ka).epochMicros).toBe(a);
      }),
    );
  });
});

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

// Builds a key by hand from epoch microseconds, independent of the parser.
function keyOf(epochMicros: bigint): string {
  let seconds = epochMicros / 1_000_000n;
  let micros = epochMicros % 1_000_000n;
  if (micros < 0n) {
    micros += 1_000_000n;
    seconds -= 1n;
  }
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 19)}.${micros.toString().padStart(6, "0")}Z`;
}
