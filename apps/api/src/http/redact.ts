// Request URLs carry addresses (`/v1/suppressions/ada@example.com`, `?email=`, `/support?q=`):
// what is logged keeps the route and drops the personal data.

/** A path segment or query value holding an `@` (raw or percent-encoded). */
const ADDRESS_PART = /[^/?&=#]*(?:@|%40)[^/?&=#]*/gi;

export function redactAddresses(url: string): string {
  return url.replace(ADDRESS_PART, "[address]");
}
