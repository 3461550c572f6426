// The ops credentials the tests start the API with, and basic-auth headers for them.
export const OPS_USERNAME = "support-desk";
export const OPS_PASSWORD = "correct horse battery staple";
export const OPS_ENV = { OPS_USERNAME, OPS_PASSWORD };

export function basicAuth(user = OPS_USERNAME, password = OPS_PASSWORD): string {
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}
