/**
 * Who a Bluesky identifier is and where the account lives: a handle resolves to a DID (DNS
 * `_atproto` TXT record or `https://<handle>/.well-known/atproto-did`, then an AppView's
 * `com.atproto.identity.resolveHandle`), and the DID's document (from the PLC directory for
 * `did:plc`, from `/.well-known/did.json` for `did:web`) names the PDS (`#atproto_pds`). Every
 * later call for the account goes to that PDS, not to an entryway such as bsky.social
 * (https://atproto.com/specs/handle, https://atproto.com/specs/did,
 * https://docs.bsky.app/docs/advanced-guides/entryway).
 *
 * The handle's `/.well-known/atproto-did` and a `did:web` document live on hosts the user
 * names, so those two fetches go through Herald's outbound guard (core/net/outbound): each
 * connection is checked against the address it reaches after DNS, not only the host's name.
 * `@atproto/identity` takes no fetch of its own, so its two HTTP steps are overridden here
 * (`GuardedHandleResolver`, `GuardedDidWebResolver`); DNS and the PLC directory stay its own.
 */
import { BlockList, isIP } from 'node:net';
import { Agent, XRPCError } from '@atproto/api';
import { getHandle, getPdsEndpoint, isValidDidDoc, type DidDocument } from '@atproto/common-web';
import {
  DidResolver,
  DidWebResolver,
  HandleResolver,
  PoorlyFormattedDidDocumentError,
  PoorlyFormattedDidError,
  UnsupportedDidWebPathError,
} from '@atproto/identity';
import { HeraldError, outboundRefusal, userUrlDispatcher } from '../../core/index.js';

/** The public PLC directory, which holds every `did:plc` document. */
export const DEFAULT_PLC_URL = 'https://plc.directory';

export interface IdentityOptions {
  /** Base URL of the PLC directory. Default {@link DEFAULT_PLC_URL}. */
  plcUrl: string;
  /** An AppView (or PDS) asked `com.atproto.identity.resolveHandle` when DNS and HTTPS find nothing. */
  handleResolverUrl: string;
  /** Each lookup is abandoned after this many milliseconds. */
  timeoutMs: number;
  /**
   * A local development network: accept a PDS over plain http and on a loopback or private
   * address, and `did:web` documents on such hosts. Default false.
   */
  allowHttpPds?: boolean;
}

export interface ResolvedIdentity {
  did: string;
  /** The handle the DID document claims (`alsoKnownAs`), if any. */
  handle: string | null;
  /** Base URL of the account's PDS. */
  pdsUrl: string;
}

const HANDLE = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DID = /^did:(plc|web):[a-zA-Z0-9._:%-]{1,2000}$/;

/** A handle (`alice.bsky.social`, `@alice.bsky.social`) or a DID, normalised; a clear error for anything else. */
export function parseIdentifier(identifier: string): { did: string } | { handle: string } {
  const trimmed = identifier.trim();
  if (trimmed.startsWith('did:')) {
    if (DID.test(trimmed)) return { did: trimmed };
    throw new HeraldError('validation_failed', {
      message: `"${trimmed}" is not a DID Bluesky uses (did:plc:… or did:web:…)`,
      details: { field: 'identifier' },
    });
  }
  const handle = trimmed.replace(/^@/, '').toLowerCase();
  if (handle.length <= 253 && HANDLE.test(handle)) return { handle };
  throw new HeraldError('validation_failed', {
    message: `"${trimmed}" is not a Bluesky handle (such as alice.bsky.social) or DID; an email address cannot be resolved to a server`,
    details: { field: 'identifier' },
  });
}

/** Resolves a handle or DID to the account's DID and PDS. */
export async function resolveIdentity(identifier: string, options: IdentityOptions): Promise<ResolvedIdentity> {
  const parsed = parseIdentifier(identifier);
  const did = 'did' in parsed ? parsed.did : await resolveHandle(parsed.handle, options);
  if (did.startsWith('did:web:') && !options.allowHttpPds) {
    const host = decodeURIComponent(did.slice('did:web:'.length).split(':')[0]!).replace(/:\d+$/, '');
    if (isInternalHost(host)) {
      throw new HeraldError('handle_unresolved', {
        message: `${did} names a local or private host; Herald does not fetch DID documents from there`,
        details: { identifier, did },
      });
    }
  }
  const doc = await resolveDid(did, identifier, options);
  const pdsUrl = pdsOf(doc, options);
  if (!pdsUrl) {
    throw new HeraldError('handle_unresolved', {
      message: `The DID document of ${did} names no usable PDS (#atproto_pds)`,
      details: { identifier, did },
    });
  }
  return { did, handle: getHandle(doc) ?? null, pdsUrl };
}

/** The PDS a DID document names, when it is an http(s) URL we may call; null otherwise. */
export function pdsOf(doc: unknown, options: Pick<IdentityOptions, 'allowHttpPds'> = {}): string | null {
  if (!isValidDidDoc(doc)) return null;
  const endpoint = getPdsEndpoint(doc);
  if (!endpoint || !URL.canParse(endpoint)) return null;
  const url = new URL(endpoint);
  if (options.allowHttpPds === true) return /^https?:$/.test(url.protocol) ? url.origin : null;
  // Sessions and passwords go to this host: only a public https server.
  return url.protocol === 'https:' && !isInternalHost(url.hostname) ? url.origin : null;
}

/** Loopback, private, link-local, unique-local and IPv4-mapped addresses (RFC 1918, 6598, 3927, 4193), and localhost. */
const INTERNAL = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const)
  INTERNAL.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::1', 128],
  ['::', 128],
  ['::ffff:0:0', 96],
  ['fc00::', 7],
  ['fe80::', 10],
] as const)
  INTERNAL.addSubnet(net, prefix, 'ipv6');

function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  if (family === 0) return false;
  return INTERNAL.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

async function resolveHandle(handle: string, options: IdentityOptions): Promise<string> {
  // DNS and the well-known file first, as the spec says; the library gives neither a timeout.
  const direct = await withTimeout(
    new GuardedHandleResolver({ timeout: options.timeoutMs }).resolve(handle),
    options.timeoutMs,
  );
  if (direct && DID.test(direct)) return direct;
  const agent = new Agent({
    service: options.handleResolverUrl,
    fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(options.timeoutMs) }),
  });
  try {
    const { data } = await agent.com.atproto.identity.resolveHandle({ handle });
    return data.did;
  } catch (err) {
    // 400 is the resolver's "Unable to resolve handle" (HandleNotFound).
    if (err instanceof XRPCError && err.status === 400) {
      throw new HeraldError('handle_unresolved', {
        message: `The Bluesky handle ${handle} does not resolve to an account; check its spelling`,
        details: { identifier: handle },
      });
    }
    throw unreachable(`the handle resolver (${options.handleResolverUrl})`, err);
  }
}

async function resolveDid(did: string, identifier: string, options: IdentityOptions): Promise<DidDocument> {
  const resolver = new DidResolver({ plcUrl: options.plcUrl, timeout: options.timeoutMs });
  resolver.methods.set('web', new GuardedDidWebResolver(options.timeoutMs));
  let doc: DidDocument | null;
  try {
    doc = await resolver.resolve(did);
  } catch (err) {
    const refused = outboundRefusal(err);
    if (refused) {
      throw new HeraldError('handle_unresolved', {
        message: `${did} names ${refused.host}, which is at ${refused.address} (${refused.range}); Herald does not fetch DID documents from there`,
        details: { identifier, did },
      });
    }
    if (err instanceof PoorlyFormattedDidError || err instanceof UnsupportedDidWebPathError) {
      throw new HeraldError('handle_unresolved', {
        message: `${did} is not a did:web Bluesky can use (a host name, no path)`,
        details: { identifier, did },
      });
    }
    if (err instanceof PoorlyFormattedDidDocumentError) {
      throw new HeraldError('handle_unresolved', {
        message: `The DID document of ${did} is malformed`,
        details: { identifier, did },
      });
    }
    throw unreachable(did.startsWith('did:web:') ? `the did:web host of ${did}` : 'the PLC directory', err);
  }
  if (!doc) {
    throw new HeraldError('handle_unresolved', {
      message: `No DID document exists for ${did}`,
      details: { identifier, did },
    });
  }
  return doc;
}

function unreachable(what: string, err: unknown): HeraldError {
  const reason = err instanceof Error ? (err.name === 'AbortError' ? 'no answer in time' : err.message) : String(err);
  return new HeraldError('platform_unreachable', {
    message: `Bluesky could not be reached: ${what} did not answer (${reason})`,
    details: { platform: 'bluesky' },
  });
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `fetch` through the outbound guard: public addresses only, unless `OUTBOUND_ALLOW` says more.
 * Every Bluesky call goes through it by default — the PDS, too, is named by a DID document
 * anyone can write, and it receives the app password.
 */
export const guardedFetch: typeof globalThis.fetch = (input, init) =>
  fetch(input, { ...init, dispatcher: userUrlDispatcher() } as RequestInit);

/**
 * The library's handle resolver with its HTTPS step (`GET https://<handle>/.well-known/atproto-did`,
 * the first line of the body is the DID; https://atproto.com/specs/handle) made through the
 * guard. A refused or failed fetch finds nothing, as any failure of that step does, and
 * resolution goes on to the AppView.
 */
class GuardedHandleResolver extends HandleResolver {
  override async resolveHttp(handle: string, signal?: AbortSignal): Promise<string | undefined> {
    try {
      const res = await guardedFetch(new URL('/.well-known/atproto-did', `https://${handle}`), {
        ...(signal ? { signal } : {}),
      });
      if (!res.ok) return undefined;
      const did = (await res.text()).split('\n')[0]!.trim();
      return did.startsWith('did:') ? did : undefined;
    } catch {
      return undefined;
    }
  }
}

/**
 * The library's did:web resolver (`GET https://<host>/.well-known/did.json`, plain http for
 * `localhost`, no redirects, no paths: https://atproto.com/specs/did) with the fetch made
 * through the guard; a refusal is thrown for `resolveDid` to name.
 */
class GuardedDidWebResolver extends DidWebResolver {
  override async resolveNoCheck(did: string): Promise<unknown> {
    const parts = did.split(':').slice(2).join(':').split(':').map(decodeURIComponent);
    if (parts.length < 1 || !parts[0]) throw new PoorlyFormattedDidError(did);
    if (parts.length > 1) throw new UnsupportedDidWebPathError(did);
    const url = new URL(`https://${parts[0]}/.well-known/did.json`);
    if (url.hostname === 'localhost') url.protocol = 'http';
    const res = await guardedFetch(url, {
      signal: AbortSignal.timeout(this.timeout),
      redirect: 'error',
      headers: { accept: 'application/did+ld+json,application/json' },
    });
    // Positively not found, as opposed to a network failure (thrown).
    if (!res.ok) return null;
    return res.json();
  }
}
