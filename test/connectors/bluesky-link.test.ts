/**
 * Connecting a Bluesky account with a handle (or DID) and an app password, against a real PDS
 * and PLC directory from `@atproto/dev-env`: the identifier resolves to the DID document's PDS,
 * the session is made there and publishes; a wrong or revoked app password, the main password,
 * a handle that resolves nowhere, a PDS or PLC that is down each give their own error. And the
 * connector follows a renewed session's DID document from an entryway to the account's PDS.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBlueskyTestbed, type BlueskyTestbed } from '../../connectors/bluesky/fake.js';
import { createBlueskyConnector, createBlueskyPasswordLinker } from '../../connectors/bluesky/index.js';
import { pdsOf } from '../../connectors/bluesky/identity.js';
import type { BlueskyCredentials } from '../../connectors/bluesky/index.js';
import type { PublishInput } from '../../connectors/contract.js';
import { setOutboundPolicy } from '../../core/index.js';

const TIMEOUT_MS = 2_000;
let tb: BlueskyTestbed;
let linker: ReturnType<typeof createBlueskyPasswordLinker>;

beforeAll(async () => {
  tb = await startBlueskyTestbed();
  // The dev-env PDS resolves the handles it hosts; `.test` handles have no DNS or web host.
  linker = createBlueskyPasswordLinker({
    plcUrl: tb.plcUrl,
    handleResolverUrl: tb.pdsUrl,
    timeoutMs: TIMEOUT_MS,
    allowHttpPds: true,
  });
});
afterAll(async () => {
  await tb?.close();
});

const text = (t: string): PublishInput => ({ parts: [{ text: t, media: [] }], options: {} });
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );

/** A closed port: nothing listens there. */
async function deadPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A did:web identity whose document names a PDS at `pdsUrl` (document shape:
 * https://atproto.com/specs/did — `#atproto_pds`, type `AtprotoPersonalDataServer`).
 */
async function didWebHost(pdsUrl: string): Promise<{ did: string; close: () => Promise<void> }> {
  let did = '';
  const server = http.createServer((req, res) => {
    if (req.url !== '/.well-known/did.json') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        '@context': ['https://www.w3.org/ns/did/v1'],
        id: did,
        alsoKnownAs: ['at://gone.test'],
        service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: pdsUrl }],
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  did = `did:web:localhost%3A${(server.address() as AddressInfo).port}`;
  return { did, close: () => new Promise((r) => server.close(() => r())) };
}

describe('connecting a Bluesky account with an app password', () => {
  it('resolves the handle to the PDS in its DID document, signs in there, and the session publishes', async () => {
    const account = await tb.createAccount();
    const linked = await linker.signIn({
      identifier: `@${account.handle.toUpperCase()}`,
      password: account.appPassword,
    });
    const credentials = linked.credentials as BlueskyCredentials;
    expect(linked).toMatchObject({
      externalId: account.did,
      handle: account.handle,
      scopes: ['com.atproto.appPass'],
      metadata: { pds: tb.pdsUrl },
    });
    // The PDS from the DID document, not the front the testbed hands its own sessions out on.
    expect(credentials).toMatchObject({ service: tb.pdsUrl, did: account.did, appPassword: account.appPassword });
    expect(Math.abs(linked.expiresAt!.getTime() - (Date.now() + 2 * 3600_000))).toBeLessThan(60_000);

    const connector = createBlueskyConnector({ timeoutMs: TIMEOUT_MS });
    const context = { ...account.context, credentials: linked.credentials };
    await connector.publish(context, text('connected by handle'), randomUUID());
    expect((await tb.listPosts(account.did)).map((p) => p.text)).toEqual(['connected by handle']);
  });

  it('takes a DID as the identifier, and reads the display name from the profile record', async () => {
    const account = await tb.createAccount();
    const agent = await tb.agentFor(account);
    await agent.com.atproto.repo.putRecord({
      repo: account.did,
      collection: 'app.bsky.actor.profile',
      rkey: 'self',
      record: { $type: 'app.bsky.actor.profile', displayName: 'Ada on Bluesky' },
    });
    const linked = await linker.signIn({ identifier: account.did, password: account.appPassword });
    expect(linked).toMatchObject({ externalId: account.did, displayName: 'Ada on Bluesky', avatarUrl: null });
  });

  it('a wrong app password is refused in words, with the PDS status', async () => {
    const account = await tb.createAccount();
    const err = await failure(linker.signIn({ identifier: account.handle, password: 'abcd-efgh-ijkl-mnop' }));
    expect(err).toMatchObject({ code: 'sign_in_refused', status: 422, details: { status: 401 } });
    expect((err as Error).message).toContain(`Bluesky refused the sign-in for ${account.handle}`);
  });

  it('a revoked app password is refused', async () => {
    const account = await tb.createAccount();
    await tb.revokeAppPassword(account);
    const err = await failure(linker.signIn({ identifier: account.handle, password: account.appPassword }));
    expect(err).toMatchObject({ code: 'sign_in_refused' });
  });

  it("refuses the account's main password, and says where app passwords are made", async () => {
    const account = await tb.createAccount();
    const err = await failure(linker.signIn({ identifier: account.handle, password: account.password }));
    expect(err).toMatchObject({ code: 'sign_in_refused', details: { reason: 'main_password' } });
    expect((err as Error).message).toContain('App passwords');
  });

  it('a handle that resolves to no account, and input that is no handle, are told apart', async () => {
    const err = await failure(linker.signIn({ identifier: 'nobody-here.test', password: 'abcd-efgh-ijkl-mnop' }));
    expect(err).toMatchObject({ code: 'handle_unresolved', status: 422 });
    expect((err as Error).message).toContain('nobody-here.test does not resolve');
    const plc = await failure(linker.signIn({ identifier: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa', password: 'x' }));
    expect(plc).toMatchObject({ code: 'handle_unresolved' });
    const email = await failure(linker.signIn({ identifier: 'ada@example.com', password: 'x' }));
    expect(email).toMatchObject({ code: 'validation_failed' });
  });

  it('a PDS that is down is platform_unreachable (retryable); so is a PLC directory that is down', async () => {
    const host = await didWebHost(`http://localhost:${await deadPort()}`);
    try {
      const err = await failure(linker.signIn({ identifier: host.did, password: 'abcd-efgh-ijkl-mnop' }));
      expect(err).toMatchObject({ code: 'platform_unreachable', status: 502, retryable: true });
      expect((err as Error).message).toContain('ECONNREFUSED');
    } finally {
      await host.close();
    }
    const account = await tb.createAccount();
    const noPlc = createBlueskyPasswordLinker({
      plcUrl: `http://127.0.0.1:${await deadPort()}`,
      handleResolverUrl: tb.pdsUrl,
      timeoutMs: TIMEOUT_MS,
      allowHttpPds: true,
    });
    const err = await failure(noPlc.signIn({ identifier: account.did, password: account.appPassword }));
    expect(err).toMatchObject({ code: 'platform_unreachable' });
    expect((err as Error).message).toContain('PLC directory');
  });

  it('a DID document naming a plain-http PDS is refused unless http PDSes are allowed', async () => {
    const account = await tb.createAccount();
    const strict = createBlueskyPasswordLinker({
      plcUrl: tb.plcUrl,
      handleResolverUrl: tb.pdsUrl,
      timeoutMs: TIMEOUT_MS,
    });
    const err = await failure(strict.signIn({ identifier: account.handle, password: account.appPassword }));
    expect(err).toMatchObject({ code: 'handle_unresolved' });
    expect((err as Error).message).toContain('names no usable PDS');
  });
});

describe('where Herald sends an account password', () => {
  const doc = (serviceEndpoint: string) => ({
    id: 'did:plc:aaaaaaaaaaaaaaaaaaaaaaaa',
    service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint }],
  });

  it('only to a public https PDS, unless a local network is allowed', () => {
    expect(pdsOf(doc('https://morel.us-east.host.bsky.network/'))).toBe('https://morel.us-east.host.bsky.network');
    for (const internal of [
      'http://pds.example.com',
      'https://localhost:2583',
      'https://127.0.0.1',
      'https://10.1.2.3',
      'https://192.168.1.20',
      'https://169.254.169.254',
      'https://[::1]',
      'https://[::ffff:127.0.0.1]',
      'https://[fd00::1]',
    ])
      expect([internal, pdsOf(doc(internal))]).toEqual([internal, null]);
    expect(pdsOf(doc('http://localhost:2583'), { allowHttpPds: true })).toBe('http://localhost:2583');
    expect(pdsOf({ id: 'not a did document' })).toBeNull();
  });

  it('does not fetch a did:web document from a local host unless a local network is allowed', async () => {
    const host = await didWebHost(tb.pdsUrl);
    try {
      const strict = createBlueskyPasswordLinker({ plcUrl: tb.plcUrl, timeoutMs: TIMEOUT_MS });
      const err = await failure(strict.signIn({ identifier: host.did, password: 'abcd-efgh-ijkl-mnop' }));
      expect(err).toMatchObject({ code: 'handle_unresolved' });
      expect((err as Error).message).toContain('local or private host');
    } finally {
      await host.close();
    }
  });
});

describe('did:web and handle hosts go through the outbound guard', () => {
  // A did:web host spelled as a number is no IP literal to a name check, but the URL parser
  // (and so fetch) reads 167772161 as 10.0.0.1 and 2130706433 as 127.0.0.1: only a check of
  // the address actually connected to (core/net/outbound) stops it.
  const strict = () => createBlueskyPasswordLinker({ plcUrl: tb.plcUrl, timeoutMs: TIMEOUT_MS });

  it('a did:web whose host is a private address is refused, naming the address', async () => {
    const err = await failure(strict().signIn({ identifier: 'did:web:167772161', password: 'abcd-efgh-ijkl-mnop' }));
    expect(err).toMatchObject({ code: 'handle_unresolved' });
    expect((err as Error).message).toContain('10.0.0.1 (private)');
  });

  it('under the default policy a did:web at a loopback address is refused before any connection', async () => {
    let connections = 0;
    const listener = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    const { port } = listener.address() as AddressInfo;
    setOutboundPolicy({ allow: [] }); // an install without OUTBOUND_ALLOW
    try {
      const err = await failure(
        strict().signIn({ identifier: `did:web:2130706433%3A${port}`, password: 'abcd-efgh-ijkl-mnop' }),
      );
      expect(err).toMatchObject({ code: 'handle_unresolved' });
      expect((err as Error).message).toContain('127.0.0.1 (loopback)');
      expect(connections).toBe(0);
    } finally {
      setOutboundPolicy({ allow: ['loopback'] }); // as test/setup/outbound.ts left it
      await new Promise((r) => listener.close(r));
    }
  });
});

describe('the PDS, too, goes through the outbound guard', () => {
  // With allowHttpPds (a local network) the PDS's name is not checked; the address it reaches
  // still is. 167772161 is 10.0.0.1 to the URL parser, a private address the tests' policy
  // (loopback only) does not allow.
  it('no password is sent to a PDS at a private address, even on a local network', async () => {
    const host = await didWebHost('http://167772161:2583');
    try {
      const local = createBlueskyPasswordLinker({ plcUrl: tb.plcUrl, timeoutMs: TIMEOUT_MS, allowHttpPds: true });
      const err = await failure(local.signIn({ identifier: host.did, password: 'abcd-efgh-ijkl-mnop' }));
      expect(err).toMatchObject({ code: 'handle_unresolved' });
      expect((err as Error).message).toContain('10.0.0.1 (private)');
    } finally {
      await host.close();
    }
  });

  it('publishing to a PDS at a private address is refused before sending: permanent, not maybe applied', async () => {
    const account = await tb.createAccount();
    const connector = createBlueskyConnector({ timeoutMs: TIMEOUT_MS, allowHttpPds: true });
    const credentials = { ...account.context.credentials, service: 'http://10.0.0.1:2583' };
    const err = await failure(connector.publish({ ...account.context, credentials }, text('not sent'), randomUUID()));
    expect(err).toMatchObject({ kind: 'permanent', mayHaveSucceeded: false });
    expect((err as Error).message).toContain('10.0.0.1');
  });
});

describe("calls go to the account's PDS, not the entryway", () => {
  it("a renewed session's DID document moves the account's calls to its PDS", async () => {
    // The testbed's sessions point at a front (the proxy), as a session made on bsky.social would.
    const account = await tb.createAccount();
    expect(account.credentials.service).toBe(tb.serviceUrl);
    const following = createBlueskyConnector({ timeoutMs: TIMEOUT_MS, allowHttpPds: true });
    const { credentials } = await following.refresh(account.context);
    expect(credentials).toMatchObject({ service: tb.pdsUrl, did: account.did });
    await following.publish({ ...account.context, credentials }, text('straight to the PDS'), randomUUID());
    expect((await tb.listPosts(account.did)).map((p) => p.text)).toEqual(['straight to the PDS']);

    // Without leave to follow a plain-http document, the stored service stays.
    const strict = createBlueskyConnector({ timeoutMs: TIMEOUT_MS });
    const renewed = await strict.refresh({
      ...account.context,
      credentials: { ...credentials, service: tb.serviceUrl },
    });
    expect(renewed.credentials).toMatchObject({ service: tb.serviceUrl });
  });
});
