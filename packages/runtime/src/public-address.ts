// Where outbound webhooks may go: public addresses only, unless OUTBOUND_ALLOW_PRIVATE. A tenant's
// key registers the URL, so without this it could make mailstate probe its own network (Redis,
// PostgreSQL, a cloud metadata service). Checked at registration and again at every send, on the
// very address the connection uses (so a name that resolves elsewhere later, DNS rebinding, is caught).
import { promises as dns, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata services)
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const)
  BLOCKED.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["fc00::", 7], // unique-local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
] as const)
  BLOCKED.addSubnet(network, prefix, "ipv6");

const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** Whether an IP address is loopback, private, link-local, unique-local, unspecified or otherwise not public. */
export function isPrivateAddress(address: string): boolean {
  const mapped = MAPPED_V4.exec(address)?.[1];
  if (mapped) return isPrivateAddress(mapped);
  const family = isIP(address);
  if (family === 4) return BLOCKED.check(address, "ipv4");
  if (family === 6) {
    // ::ffff:7f00:1 is 127.0.0.1 written in hex.
    if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/i.test(address)) return true;
    return BLOCKED.check(address, "ipv6");
  }
  return true;
}

export class OutboundUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutboundUrlError";
  }
}

/** The URL's host as an address or a name (URL keeps the brackets of an IPv6 literal). */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, "$1");

/** Every address the host resolves to; throws OutboundUrlError if it does not resolve. */
async function addressesOf(host: string): Promise<LookupAddress[]> {
  if (isIP(host)) return [{ address: host, family: isIP(host) }];
  try {
    return await dns.lookup(host, { all: true, verbatim: true });
  } catch (error) {
    throw new OutboundUrlError(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/**
 * Refuse a URL whose host is, or resolves to, an address that is not public (any one of its
 * addresses). Throws OutboundUrlError saying which address; passes everything when `allowPrivate`.
 */
export async function assertPublicUrl(raw: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const url = new URL(raw);
  const host = hostOf(url);
  for (const { address } of await addressesOf(host)) {
    if (isPrivateAddress(address)) {
      const what = address === host ? host : `${host} resolves to ${address}, which`;
      throw new OutboundUrlError(
        `${what} is a loopback, private, link-local or unspecified address: refused (OUTBOUND_ALLOW_PRIVATE=true allows it)`,
      );
    }
  }
}

/**
 * A `lookup` for node's http(s).request that resolves the name and refuses the connection when
 * an address is not public: the check and the connection use the same answer. (An IP literal
 * never reaches a lookup: assertPublicUrl checks it.)
 */
export function publicLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    addressesOf(hostname).then(
      (found) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = wanted ? found.filter((entry) => entry.family === wanted) : found;
        const refused = allowPrivate ? undefined : usable.find((entry) => isPrivateAddress(entry.address));
        if (refused) {
          callback(
            new OutboundUrlError(`${hostname} resolves to ${refused.address}, which is not a public address`),
            "",
            4,
          );
          return;
        }
        const first = usable[0];
        if (!first) {
          callback(new OutboundUrlError(`${hostname} has no address`), "", 4);
          return;
        }
        if (options.all) (callback as unknown as (error: null, all: LookupAddress[]) => void)(null, usable);
        else callback(null, first.address, first.family);
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, "", 4),
    );
  };
}
