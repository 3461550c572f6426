// What the ops tests share: basic-auth headers, Resend events about one email, and posting them
// signed to /webhooks/resend as Resend does.
export { deliverWebhook, resendEvent } from "../helpers/webhooks.ts";

export const OPS_USERNAME = "support-desk";
export const OPS_PASSWORD = "correct horse battery staple";
export const OPS_ENV = { OPS_USERNAME, OPS_PASSWORD };

export function basicAuth(user = OPS_USERNAME, password = OPS_PASSWORD): string {
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

/** Poll until the check answers a value (not undefined), or fail with what it last saw. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
