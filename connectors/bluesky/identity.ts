/**
 * Who a Bluesky identifier is and where the account lives: a handle resolves to a DID (DNS
 * `_atproto` TXT record or `https://<handle>/.well-known/atproto-did`, then an AppView's
 * `com.atproto.identity.resolveHandle`), and the DID's document (from the PLC directory for
 * `did:plc`, from `/.well-known/did.json` for `did:web`) names the PDS (`#atproto_pds`). Every
 * later call for the account goes to that PDS, not to an entryway such as bsky.social
 * (https://atproto.com/specs/handle, https://atproto.com/specs/did,
 * https://docs.bsky.app/docs/advanced-guides/entryway).
 */
import { Agent, XRPCError } from '@atproto/api';
import { getHandle, getPdsEndpoint, isValidDidDoc, type DidDocument } from '@atproto/common-web';
import { DidResolver, HandleResolver, PoorlyFormattedDidDocumentError } from '@atproto/identity';
import { HeraldError } from '../../core/index.js';

/** The public PLC directory, which holds every `did:plc` document. */
export const DEFAULT_PLC_URL = 'https://plc.directory';

export interface IdentityOptions {
  /** Base URL of the PLC directory. Default {@link DEFAULT_PLC_URL}. */
  plcUrl: string;
  /** An AppView (or PDS) asked `com.atproto.identity.resolveHandle` when DNS and HTTPS find nothing. */
  handleResolverUrl: string;
  /** Each lookup is abandoned after this many milliseconds. */
  timeoutMs: number;
  /** Accept a PDS endpoint over plain http (a local development network). Default false. */
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
  const ok = url.protocol === 'https:' || (options.allowHttpPds === true && url.protocol === 'http:');
  return ok ? url.origin : null;
}

async function resolveHandle(handle: string, options: IdentityOptions): Promise<string> {
  // DNS and the well-known file first, as the spec says; the library gives neither a timeout.
  const direct = await withTimeout(
    new HandleResolver({ timeout: options.timeoutMs }).resolve(handle),
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
  let doc: DidDocument | null;
  try {
    doc = await resolver.resolve(did);
  } catch (err) {
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
