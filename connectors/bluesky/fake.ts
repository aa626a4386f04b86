/**
 * The Bluesky testbed: a real PDS and PLC directory from `@atproto/dev-env`, running in this
 * process, behind the fault-injecting proxy (`fake-proxy.ts`). Bluesky's tests talk to the real
 * server; the proxy only adds the failures tests ask for. Given a PostgreSQL URL it also runs a
 * real AppView that indexes the PDS, fronted by a proxy that lets the indexer catch up before
 * each request, so reads see every write made before them (what a live AppView does within
 * about a second). Accounts get an app-password session, as Herald stores them.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { AtpAgent } from '@atproto/api';
import { TestBsky, TestNetworkNoAppView, TestPds, TestPlc, mockNetworkUtilities } from '@atproto/dev-env';
import getPort from 'get-port';
import pg from 'pg';
import type { AccountContext } from '../contract.js';
import type { BlueskyCredentials } from './client.js';
import { FaultProxy, type FaultOptions, type ProxyFault } from './fake-proxy.js';

export type { ProxyFault, FaultOptions } from './fake-proxy.js';

export interface BlueskyTestbedOptions {
  /**
   * PostgreSQL server for an AppView (`@atproto/bsky`), which then indexes the PDS and serves
   * `app.bsky.*` reads at `appViewUrl`. It works in a schema of its own, dropped on `close()`.
   * Without it there is no AppView and `appViewUrl` is null.
   */
  postgresUrl?: string;
}

export interface TestAccount {
  did: string;
  handle: string;
  /** The account password (full access: the testbed uses it to act as other people would). */
  password: string;
  /** An app password; `credentials` come from a session started with it. */
  appPassword: string;
  credentials: BlueskyCredentials;
  /** Ready to pass to a connector. */
  context: AccountContext;
}

/** A post as the PDS holds it. */
export interface TestbedPost {
  uri: string;
  cid: string;
  rkey: string;
  text: string;
  createdAt: string;
  replyRoot: { uri: string; cid: string } | null;
  replyParent: { uri: string; cid: string } | null;
  altTexts: string[];
  aspectRatios: Array<{ width: number; height: number } | null>;
  facets: unknown[];
  record: Record<string, unknown>;
}

export interface BlueskyTestbed {
  /** The real PDS, bypassing the proxy. */
  readonly pdsUrl: string;
  /** The proxy in front of the PDS: account credentials point here. */
  readonly serviceUrl: string;
  /** The AppView front (reads see all writes made before them), or null without PostgreSQL. */
  readonly appViewUrl: string | null;
  /** The PLC directory holding every test account's DID document (which names `pdsUrl`). */
  readonly plcUrl: string;
  createAccount(): Promise<TestAccount>;
  /** Revokes the account's app password on the PDS (its sessions' refresh tokens go with it), as the owner would in Bluesky's settings. */
  revokeAppPassword(account: TestAccount): Promise<void>;
  /** The account's posts, read from the PDS, oldest first. */
  listPosts(did: string): Promise<TestbedPost[]>;
  failNext(did: string, fault: ProxyFault, options?: FaultOptions): void;
  expireAccessToken(did: string): void;
  /** Revokes the refresh token on the PDS (`deleteSession`), as a logout elsewhere or its expiry would. */
  revokeRefreshToken(credentials: BlueskyCredentials): Promise<void>;
  /** An agent logged in with the account password, directly on the PDS. */
  agentFor(account: TestAccount): Promise<AtpAgent>;
  /**
   * Plays the account owner's browser on the PDS's OAuth authorization page (`authorizeUrl`,
   * as an OAuth client hands it out): opens the page, signs in with the account password and
   * consents (or declines), through the same API the page's own script calls, with the cookies,
   * CSRF token and fetch-metadata headers a browser sends. Returns where the PDS redirects the
   * browser: the client's redirect URI with `iss`, `state` and `code` (or `error`).
   */
  authorizeOAuth(authorizeUrl: string, account: TestAccount, options?: { deny?: boolean }): Promise<string>;
  /** The OAuth sessions (refresh-token grants) the PDS holds for the account, by client id. */
  oauthSessions(account: TestAccount): Promise<Array<{ tokenId: string; clientId: string }>>;
  /** Revokes every OAuth session of the account on the PDS, as its owner would from Bluesky's settings. */
  revokeOAuthSessions(account: TestAccount): Promise<void>;
  /** The account seen as the connector contract suite's peer (`test/contract/connector.suite.ts`). */
  peerFor(did: string): TestbedPeer;
  close(): Promise<void>;
}

/** Structurally the contract suite's `ConnectorPeer` (connectors do not import from `test/`). */
export interface TestbedPeer {
  posts(): Promise<Array<{ id: string; text: string; replyToId: string | null; altTexts: string[] }>>;
  failNext(fault: ProxyFault): Promise<void>;
  expireAccessToken(): Promise<void>;
}

const POST_COLLECTION = 'app.bsky.feed.post';
const APP_PASSWORD_NAME = 'herald';
/**
 * Sessions carry the account's DID document, as bsky.social's do (`PDS_ENABLE_DID_DOC_WITH_SESSION`;
 * clients such as @atproto/api's AtpAgent read the PDS endpoint from it). Accounts' credentials
 * name the proxy (`serviceUrl`), as an account signed in at the entryway does, while the DID
 * document names the PDS itself: Bluesky's docs tell clients to send the account's calls to the
 * PDS from its DID document, not to the entryway
 * (https://docs.bsky.app/docs/advanced-guides/entryway).
 */
const PDS_CONFIG = { enableDidDocWithSession: true };
/** Accounts kept in the making ahead of `createAccount` calls. */
const PREPARED_ACCOUNTS = 2;

export async function startBlueskyTestbed(options: BlueskyTestbedOptions = {}): Promise<BlueskyTestbed> {
  const network = options.postgresUrl ? await startWithAppView(options.postgresUrl) : await startWithoutAppView();
  const proxy = await FaultProxy.start({ upstream: network.pds.url });
  const appViewProxy = network.appView
    ? await FaultProxy.start({ upstream: network.appView.url, beforeForward: network.appView.catchUp })
    : null;
  const direct = new AtpAgent({ service: network.pds.url });
  let counter = 0;
  const prepared: Array<Promise<TestAccount>> = [];

  async function makeAccount(): Promise<TestAccount> {
    const handle = `u${++counter}${randomBytes(3).toString('hex')}.test`;
    const password = randomBytes(12).toString('base64url');
    const agent = new AtpAgent({ service: network.pds.url });
    await agent.createAccount({ handle, email: `${handle}@herald.test`, password });
    const { data: app } = await agent.com.atproto.server.createAppPassword({ name: APP_PASSWORD_NAME });
    const { data: session } = await direct.com.atproto.server.createSession({
      identifier: handle,
      password: app.password,
    });
    proxy.trackSession(session.did, session.accessJwt);
    const credentials: BlueskyCredentials = {
      service: proxy.url,
      did: session.did,
      handle: session.handle,
      accessJwt: session.accessJwt,
      refreshJwt: session.refreshJwt,
      appPassword: app.password,
    };
    return {
      did: session.did,
      handle: session.handle,
      password,
      appPassword: app.password,
      credentials,
      context: { accountId: session.did, externalId: session.did, handle: session.handle, credentials, metadata: {} },
    };
  }

  async function listPosts(did: string): Promise<TestbedPost[]> {
    const records: Array<{ uri: string; cid: string; value: Record<string, unknown> }> = [];
    let cursor: string | undefined;
    do {
      const { data } = await direct.com.atproto.repo.listRecords({
        repo: did,
        collection: POST_COLLECTION,
        limit: 100,
        cursor,
      });
      records.push(...data.records);
      cursor = data.records.length > 0 ? data.cursor : undefined;
    } while (cursor);
    // Record keys are derived from idempotency keys, not from time: order by createdAt.
    return records
      .map(toTestbedPost)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.rkey.localeCompare(b.rkey));
  }

  return {
    pdsUrl: network.pds.url,
    serviceUrl: proxy.url,
    appViewUrl: appViewProxy?.url ?? null,
    plcUrl: network.plc.url,

    createAccount() {
      // The PDS holds every login for at least 350 ms (timing-attack mitigation), so the next
      // accounts are already being made while a test uses this one.
      while (prepared.length < PREPARED_ACCOUNTS + 1) {
        const account = makeAccount();
        account.catch(() => {}); // its failure reaches the test that takes it, not the process
        prepared.push(account);
      }
      return prepared.shift()!;
    },

    listPosts,

    failNext: (did, fault, faultOptions) => proxy.failNext(did, fault, faultOptions),
    expireAccessToken: (did) => proxy.expireAccessToken(did),

    async revokeRefreshToken(credentials) {
      await direct.com.atproto.server.deleteSession(undefined, {
        headers: { authorization: `Bearer ${credentials.refreshJwt}` },
      });
    },

    async revokeAppPassword(account) {
      const agent = new AtpAgent({ service: network.pds.url });
      await agent.login({ identifier: account.did, password: account.password });
      await agent.com.atproto.server.revokeAppPassword({ name: APP_PASSWORD_NAME });
    },

    async agentFor(account) {
      const agent = new AtpAgent({ service: network.pds.url });
      await agent.login({ identifier: account.did, password: account.password });
      return agent;
    },

    authorizeOAuth: (authorizeUrl, account, opts = {}) => actOnAuthorizePage(authorizeUrl, account, opts),

    async oauthSessions(account) {
      const tokens = await network.pds.ctx.oauthProvider!.tokenManager.listAccountTokens(
        account.did as `did:${string}`,
      );
      return tokens.map((t) => ({ tokenId: t.id, clientId: t.data.clientId }));
    },

    async revokeOAuthSessions(account) {
      const provider = network.pds.ctx.oauthProvider!;
      for (const t of await provider.tokenManager.listAccountTokens(account.did as `did:${string}`)) {
        await provider.tokenManager.deleteToken(t.id);
      }
    },

    peerFor(did) {
      return {
        posts: async () =>
          (await listPosts(did)).map((p) => ({
            id: p.uri,
            text: p.text,
            replyToId: p.replyParent?.uri ?? null,
            altTexts: p.altTexts,
          })),
        failNext: async (fault) => proxy.failNext(did, fault),
        expireAccessToken: async () => proxy.expireAccessToken(did),
      };
    },

    async close() {
      await Promise.allSettled(prepared);
      await appViewProxy?.close();
      await proxy.close();
      await network.close();
    },
  };
}

interface RunningNetwork {
  pds: TestPds;
  plc: { url: string };
  appView: { url: string; catchUp: () => Promise<void> } | null;
  close(): Promise<void>;
}

async function startWithoutAppView(): Promise<RunningNetwork> {
  const net = await TestNetworkNoAppView.create({ pds: PDS_CONFIG });
  return { pds: net.pds, plc: net.plc, appView: null, close: () => net.close() };
}

/** PLC + AppView + PDS wired as dev-env's `TestNetwork` does, without its Ozone moderation service. */
async function startWithAppView(postgresUrl: string): Promise<RunningNetwork> {
  // The AppView allows only letters and underscores in its schema name.
  const schema = `herald_appview_${[...randomBytes(8)].map((b) => String.fromCharCode(97 + (b % 26))).join('')}`;
  const plc = await TestPlc.create({});
  const pdsPort = await getPort();
  const bsky = await TestBsky.create({
    plcUrl: plc.url,
    pdsPort,
    repoProvider: `ws://localhost:${pdsPort}`,
    dbPostgresUrl: postgresUrl,
    dbPostgresSchema: schema,
    redisHost: '',
  });
  const pds = await TestPds.create({
    port: pdsPort,
    didPlcUrl: plc.url,
    bskyAppViewUrl: bsky.url,
    bskyAppViewDid: bsky.ctx.cfg.serverDid,
    ...PDS_CONFIG,
  });
  mockNetworkUtilities(pds, bsky);

  /** Waits until the AppView has indexed every event the PDS has emitted so far. */
  const catchUp = async () => {
    await pds.processAll();
    const last = await pds.ctx.sequencer.curr();
    const deadline = Date.now() + 10_000;
    for (;;) {
      await bsky.sub.processAll();
      const cursor = await bsky.sub.runner.getCursor();
      if (last === null || (cursor !== undefined && cursor >= last)) return;
      if (Date.now() > deadline) throw new Error(`the AppView did not index up to event ${last} within 10 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  return {
    pds,
    plc,
    appView: { url: bsky.url, catchUp },
    async close() {
      await pds.close();
      await bsky.close();
      await plc.close();
      const admin = new pg.Client({ connectionString: postgresUrl });
      await admin.connect();
      try {
        await admin.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await admin.end();
      }
    },
  };
}

function toTestbedPost(r: { uri: string; cid: string; value: Record<string, unknown> }): TestbedPost {
  const value = r.value as {
    text?: string;
    createdAt?: string;
    reply?: { root: { uri: string; cid: string }; parent: { uri: string; cid: string } };
    embed?: { $type?: string; images?: Array<{ alt?: string; aspectRatio?: { width: number; height: number } }> };
    facets?: unknown[];
  };
  const images = value.embed?.$type === 'app.bsky.embed.images' ? (value.embed.images ?? []) : [];
  return {
    uri: r.uri,
    cid: r.cid,
    rkey: r.uri.split('/').pop()!,
    text: value.text ?? '',
    createdAt: value.createdAt ?? '',
    replyRoot: value.reply ? { uri: value.reply.root.uri, cid: value.reply.root.cid } : null,
    replyParent: value.reply ? { uri: value.reply.parent.uri, cid: value.reply.parent.cid } : null,
    altTexts: images.map((i) => i.alt ?? ''),
    aspectRatios: images.map((i) => i.aspectRatio ?? null),
    facets: value.facets ?? [],
    record: r.value,
  };
}

/** The API the authorization page's script calls (`@atproto/oauth-provider-api`). */
const OAUTH_API = '/@atproto/oauth-provider/~api';

/** A browser's cookie jar for one origin: what `Set-Cookie` gave, sent back as `Cookie`. */
class CookieJar {
  readonly #cookies = new Map<string, string>();
  take(setCookies: readonly string[] | undefined): void {
    for (const line of setCookies ?? []) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      if (at > 0) this.#cookies.set(pair!.slice(0, at).trim(), pair!.slice(at + 1).trim());
    }
  }
  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }
  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

interface BrowserResponse {
  status: number;
  location: string | undefined;
  setCookies: string[] | undefined;
  body: string;
}

/**
 * One request as a browser sends it. `fetch` cannot play a browser here: it sets the
 * fetch-metadata headers itself (`Sec-Fetch-Mode: cors`), and the authorization page checks them.
 */
function browserRequest(
  url: string,
  init: { method?: string; headers: Record<string, string>; body?: string },
): Promise<BrowserResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          setCookies: res.headers['set-cookie'],
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer from ${url}`)));
    req.end(init.body);
  });
}

async function actOnAuthorizePage(
  authorizeUrl: string,
  account: TestAccount,
  opts: { deny?: boolean },
): Promise<string> {
  const page = new URL(authorizeUrl);
  const jar = new CookieJar();
  const userAgent = 'Mozilla/5.0 (X11; Linux x86_64) HeraldTest/1.0';
  // The navigation from the client's site to the authorization page.
  const opened = await browserRequest(page.href, {
    headers: {
      'user-agent': userAgent,
      accept: 'text/html',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
      'sec-fetch-site': 'cross-site',
    },
  });
  jar.take(opened.setCookies);
  if (opened.status !== 200)
    throw new Error(`The authorization page answered ${opened.status}: ${opened.body.slice(0, 2000)}`);

  // What the page's script sends: same-origin fetches, referred by the page, with the CSRF token.
  const api = async (endpoint: string, body: unknown, bearer?: string) => {
    const res = await browserRequest(new URL(`${OAUTH_API}${endpoint}`, page.origin).href, {
      method: 'POST',
      headers: {
        'user-agent': userAgent,
        'content-type': 'application/json',
        accept: 'application/json',
        origin: page.origin,
        referer: page.href,
        'sec-fetch-mode': 'same-origin',
        'sec-fetch-site': 'same-origin',
        'sec-fetch-dest': 'empty',
        'x-csrf-token': jar.get('csrf-token') ?? '',
        cookie: jar.header(),
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      body: JSON.stringify(body),
    });
    jar.take(res.setCookies);
    if (res.status !== 200) throw new Error(`${endpoint} answered ${res.status}: ${res.body.slice(0, 2000)}`);
    return JSON.parse(res.body) as Record<string, unknown>;
  };

  let next: Record<string, unknown>;
  if (opts.deny) {
    next = await api('/reject', {});
  } else {
    const signedIn = (await api('/sign-in', {
      locale: 'en',
      username: account.handle,
      password: account.password,
      remember: false,
    })) as { account: { sub: string }; ephemeralToken?: string };
    next = await api('/consent', { sub: signedIn.account.sub }, signedIn.ephemeralToken);
  }
  if (typeof next.url !== 'string') throw new Error(`The authorization page gave no redirect: ${JSON.stringify(next)}`);

  // The page navigates to the redirect step, which sends the browser back to the client.
  const redirect = await browserRequest(next.url, {
    headers: {
      'user-agent': userAgent,
      referer: page.href,
      cookie: jar.header(),
      'sec-fetch-mode': 'navigate',
      'sec-fetch-dest': 'document',
      'sec-fetch-site': 'same-origin',
    },
  });
  if (redirect.status !== 303 || !redirect.location) {
    throw new Error(`The redirect step answered ${redirect.status}: ${redirect.body.slice(0, 2000)}`);
  }
  return redirect.location;
}
