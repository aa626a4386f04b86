/**
 * Fetching URLs a user gave (a knowledge page or feed, a product page) without letting that
 * user reach what only Herald's host can: loopback services, the private network, the cloud
 * metadata address. Every connection — the first and each redirect hop — is checked against
 * the address it actually connects to, after DNS, so a name that resolves (or re-resolves) to
 * a private address is refused too. Platform and model APIs Herald is configured with are not
 * fetched through this: only addresses people type.
 *
 * `OUTBOUND_ALLOW` widens it (a lab install whose pages live on the LAN): CIDRs, or the range
 * names `loopback`, `private`, `linklocal`, `uniquelocal`, or `any`.
 */
import dns from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, type Dispatcher } from 'undici';

/** Range names `OUTBOUND_ALLOW` accepts, as ipaddr.js names them. */
const RANGE_NAMES: Record<string, string[]> = {
  loopback: ['loopback'],
  private: ['private'],
  linklocal: ['linkLocal'],
  uniquelocal: ['uniqueLocal'],
};

export const OUTBOUND_RANGE_NAMES = Object.keys(RANGE_NAMES);

export class OutboundAddressError extends Error {
  readonly code = 'ERR_OUTBOUND_ADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(`${host} is at ${address} (${range}), which Herald does not fetch user-given addresses from`);
  }
}

export interface OutboundPolicy {
  /** `any`, or CIDRs and range names allowed beyond public unicast addresses. */
  allow: readonly string[];
}

/** Whether an allow entry is well formed (config validation). */
export function isOutboundAllowEntry(entry: string): boolean {
  if (entry === 'any' || entry in RANGE_NAMES) return true;
  try {
    if (entry.includes('/')) ipaddr.parseCIDR(entry);
    else ipaddr.parse(entry);
    return true;
  } catch {
    return false;
  }
}

/** The range an address is in when the policy refuses it; null when it may be reached. */
export function refusedRange(address: string, policy: OutboundPolicy): string | null {
  if (policy.allow.includes('any')) return null;
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // IPv4-mapped IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address it is.
    ip = ipaddr.process(address);
  } catch {
    return 'unparseable';
  }
  const range = ip.range();
  if (range === 'unicast') return null;
  for (const entry of policy.allow) {
    const names = RANGE_NAMES[entry];
    if (names) {
      if (names.includes(range)) return null;
      continue;
    }
    try {
      if (entry.includes('/')) {
        const [net, bits] = ipaddr.parseCIDR(entry);
        if (net.kind() === ip.kind() && ip.match(net, bits)) return null;
      } else {
        const one = ipaddr.process(entry);
        if (one.kind() === ip.kind() && one.toNormalizedString() === ip.toNormalizedString()) return null;
      }
    } catch {
      // validated at config load; a bad entry allows nothing
    }
  }
  return range;
}

function guardedLookup(policy: OutboundPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      for (const a of addresses) {
        const range = refusedRange(a.address, policy);
        if (range) return callback(new OutboundAddressError(hostname, a.address, range), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * An undici dispatcher whose every connection is checked: literal addresses before
 * connecting, names at DNS lookup. Pass it as `fetch(url, { dispatcher })`.
 */
export function outboundDispatcher(policy: OutboundPolicy): Dispatcher {
  const connect = buildConnector({ lookup: guardedLookup(policy) } as buildConnector.BuildOptions);
  return new Agent({
    connect: (opts, callback) => {
      const host = opts.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host)) {
        const range = refusedRange(host, policy);
        if (range) return callback(new OutboundAddressError(host, host, range), null);
      }
      return connect(opts, callback);
    },
  });
}

let current: { policy: OutboundPolicy; dispatcher: Dispatcher } | null = null;

/** Sets the process's policy for user-given URLs (the runtime does, from `OUTBOUND_ALLOW`). */
export function setOutboundPolicy(policy: OutboundPolicy): void {
  const old = current;
  current = { policy, dispatcher: outboundDispatcher(policy) };
  void old?.dispatcher.close().catch(() => undefined);
}

/** The dispatcher for user-given URLs: public addresses only unless `OUTBOUND_ALLOW` says more. */
export function userUrlDispatcher(): Dispatcher {
  if (!current) setOutboundPolicy({ allow: [] });
  return current!.dispatcher;
}

/** The refusal behind a failed fetch, when the outbound policy was the reason. */
export function outboundRefusal(err: unknown): OutboundAddressError | null {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OutboundAddressError) return e;
  }
  return null;
}
