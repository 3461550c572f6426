import { describe, expect, it } from "vitest";
import { z } from "zod";
import { commonEnv, EnvError, parseEnv, port } from "./env.ts";

const schema = z.object({ PORT: port(3000) });

function messageOf(value: string): string {
  try {
    parseEnv(schema, { PORT: value });
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    return (error as Error).message;
  }
  throw new Error(`expected PORT=${value} to be rejected`);
}

describe("port()", () => {
  it("input: unset or empty → the fallback", () => {
    expect(parseEnv(schema, {}).PORT).toBe(3000);
    expect(parseEnv(schema, { PORT: "" }).PORT).toBe(3000);
  });

  it.each([
    ["1", 1],
    ["80", 80],
    ["65535", 65_535],
  ])("input: PORT=%s → %d", (value, expected) => {
    expect(parseEnv(schema, { PORT: value }).PORT).toBe(expected);
  });

  it.each(["0x50", "1e3", "0b101", "0o17", "80.0", " 80", "+80", "-1", "080", "0", "abc"])(
    "input: PORT=%s → EnvError naming PORT, plain decimal digits expected",
    (value) => {
      expect(messageOf(value)).toMatch(/PORT: must be a port number from 1 to 65535, in plain decimal digits/);
    },
  );

  it("input: PORT=65536 → EnvError naming PORT and the range", () => {
    expect(messageOf("65536")).toMatch(/PORT: must be a port number from 1 to 65535/);
  });
});

describe("integer() (every numeric variable)", () => {
  const common = z.object(commonEnv);

  it.each(["1e3", "0x10", "10.5", " 10", "-1", "0", "201", "ten"])(
    "input: DATABASE_POOL_SIZE=%s → EnvError naming it, a whole number from 1 to 200 expected",
    (value) => {
      expect(() => parseEnv(common, { DATABASE_POOL_SIZE: value })).toThrow(
        /DATABASE_POOL_SIZE: must be a whole number from 1 to 200, in plain decimal digits/,
      );
    },
  );

  it("input: DATABASE_POOL_SIZE=25 → 25; unset → the default 10", () => {
    expect(parseEnv(common, { DATABASE_POOL_SIZE: "25" }).DATABASE_POOL_SIZE).toBe(25);
    expect(parseEnv(common, {}).DATABASE_POOL_SIZE).toBe(10);
  });
});
