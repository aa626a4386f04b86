/**
 * The fake LinkedIn's HTTP side: the OAuth routes (`fake-oauth-routes.ts`), the Posts API (create, get,
 * delete, find by author), the Images and Documents APIs (initializeUpload, the upload PUT,
 * status with processing states), member post analytics, organization share statistics and
 * follower counts (a member's, a page's) —
 * with LinkedIn's error bodies, the `LinkedIn-Version` header required on `/rest/*`, 429 with
 * `Retry-After`, 401 for expired tokens and injected faults.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { nextId, renderLittleText, type FakeAsset, type FakePost, type LinkedInFakeState } from './fake-state.js';
import { mayActAs, mayRead, reply, restError, type Ctx, type Reply, type Route } from './fake-http.js';
import { OAUTH_ROUTES } from './fake-oauth-routes.js';

const postView = (p: FakePost) => ({
  id: p.urn,
  author: p.author,
  commentary: p.commentary,
  visibility: p.visibility,
  distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
  ...(p.content ? { content: p.content } : {}),
  lifecycleState: 'PUBLISHED',
  isReshareDisabledByAuthor: false,
  createdAt: p.createdAt,
  lastModifiedAt: p.createdAt,
  publishedAt: p.createdAt,
});

/** The assets a post's content references, each of which must be the member's and available. */
function referencedAssets(content: Record<string, unknown> | null): string[] {
  const media = content?.media as { id?: unknown } | undefined;
  const multi = content?.multiImage as { images?: Array<{ id?: unknown }> } | undefined;
  return [
    ...(typeof media?.id === 'string' ? [media.id] : []),
    ...(multi?.images ?? []).map((i) => i.id).filter((id): id is string => typeof id === 'string'),
  ];
}

function assetStatus(s: LinkedInFakeState, a: FakeAsset): FakeAsset['status'] {
  if (a.status === 'PROCESSING' && s.now() >= a.readyAt) a.status = 'AVAILABLE';
  return a.status;
}

const initializeUpload = (kind: 'image' | 'document') => (c: Ctx) => {
  if (c.url.searchParams.get('action') !== 'initializeUpload')
    return restError(400, 'ILLEGAL_ARGUMENT', 'Unsupported action');
  const owner = (c.json.initializeUploadRequest as { owner?: unknown } | undefined)?.owner;
  if (typeof owner !== 'string' || !mayActAs(c, owner))
    return restError(403, 'ACCESS_DENIED', `Not enough permissions to upload as ${String(owner)}`);
  const id = nextId();
  const urn = `urn:li:${kind}:D${id}`;
  const uploadId = `${kind}-${id}`;
  c.state.assets.set(urn, {
    urn,
    kind,
    owner,
    userId: c.token!.userId,
    uploadId,
    bytes: 0,
    status: 'WAITING_UPLOAD',
    readyAt: Infinity,
  });
  return reply(200, {
    value: {
      uploadUrlExpiresAt: c.state.now() + 3_600_000,
      uploadUrl: `${c.state.baseUrl}/upload/${uploadId}`,
      [kind]: urn,
    },
  });
};

const readAsset = (kind: 'image' | 'document') => (c: Ctx) => {
  const a = c.state.assets.get(decodeURIComponent(c.match[1]!));
  if (!a || a.kind !== kind || a.userId !== c.token!.userId)
    return restError(404, 'NOT_FOUND', `${kind} ${c.match[1]} does not exist`);
  return reply(200, { id: a.urn, owner: a.owner, status: assetStatus(c.state, a) });
};

const ROUTES: Route[] = [
  ...OAUTH_ROUTES,
  {
    method: 'POST',
    path: /^\/rest\/posts$/,
    auth: true,
    creates: true,
    handle: (c) => {
      const b = c.json;
      const author = typeof b.author === 'string' ? b.author : '';
      if (!mayActAs(c, author))
        return restError(403, 'ACCESS_DENIED', `Not enough permissions to post as ${author || 'nobody'}`);
      const commentary = typeof b.commentary === 'string' ? b.commentary : '';
      const content = (b.content as Record<string, unknown> | undefined) ?? null;
      if (!['PUBLIC', 'CONNECTIONS', 'LOGGED_IN'].includes(String(b.visibility)) || b.lifecycleState !== 'PUBLISHED')
        return restError(422, 'UNPROCESSABLE_ENTITY', '/visibility or /lifecycleState is invalid');
      if (commentary === '' && !content) return restError(422, 'UNPROCESSABLE_ENTITY', '/commentary is required');
      // The Posts API takes `commentary` as a string of at most 3,000 characters; the docs do
      // not say escapes are exempt, so the fake counts the field as sent, backslashes included
      // (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api).
      if ([...commentary].length > 3_000)
        return restError(422, 'UNPROCESSABLE_ENTITY', '/commentary :: Length exceeds 3000 characters');
      for (const id of referencedAssets(content)) {
        const a = c.state.assets.get(id);
        if (!a || a.userId !== c.token!.userId || assetStatus(c.state, a) !== 'AVAILABLE')
          return restError(400, 'ILLEGAL_ARGUMENT', `${id} is not available for posting`);
      }
      const live = [...c.state.posts.values()].filter((p) => p.author === author && !p.deleted);
      const same = live.find((p) => p.commentary === commentary && commentary !== '');
      if (same) return restError(422, 'DUPLICATE_POST', `Content is a duplicate of ${same.urn}`, 65_600);
      const post: FakePost = {
        urn: `urn:li:share:${nextId()}`,
        author,
        userId: c.token!.userId,
        commentary,
        text: renderLittleText(commentary),
        visibility: String(b.visibility),
        content,
        createdAt: c.state.now(),
        deleted: false,
        metrics: { reactions: 0, comments: 0, reshares: 0, impressions: 0 },
      };
      c.state.posts.set(post.urn, post);
      c.state.countersOf(post.userId).postsCreated++;
      return reply(201, undefined, { 'x-restli-id': post.urn, 'x-linkedin-id': post.urn });
    },
  },
  {
    method: 'GET',
    path: /^\/rest\/posts$/,
    auth: true,
    handle: (c) => {
      const author = c.url.searchParams.get('author') ?? '';
      if (c.url.searchParams.get('q') !== 'author' || !mayRead(c, author))
        return restError(
          403,
          'ACCESS_DENIED',
          `Not enough permissions to access: partnerApiPostsExternal.FINDER-author`,
        );
      const count = Math.min(100, Number(c.url.searchParams.get('count') ?? 10));
      const list = [...c.state.posts.values()]
        .filter((p) => p.author === author && !p.deleted)
        .sort((a, b) => b.createdAt - a.createdAt)
        .slice(0, count);
      return reply(200, { elements: list.map(postView), paging: { start: 0, count, total: list.length } });
    },
  },
  {
    method: 'GET',
    path: /^\/rest\/posts\/([^/]+)$/,
    auth: true,
    handle: (c) => {
      const p = c.state.posts.get(decodeURIComponent(c.match[1]!));
      if (p && !mayRead(c, p.author))
        return restError(403, 'ACCESS_DENIED', 'Not enough permissions to access: partnerApiPostsExternal.GET');
      return p && !p.deleted ? reply(200, postView(p)) : restError(404, 'NOT_FOUND', `Post ${c.match[1]} not found`);
    },
  },
  {
    method: 'DELETE',
    path: /^\/rest\/posts\/([^/]+)$/,
    auth: true,
    handle: (c) => {
      const p = c.state.posts.get(decodeURIComponent(c.match[1]!));
      if (!p || p.deleted) return restError(404, 'NOT_FOUND', `Post ${c.match[1]} not found`);
      if (!mayActAs(c, p.author)) return restError(403, 'ACCESS_DENIED', 'Not enough permissions to delete this post');
      p.deleted = true;
      c.state.countersOf(p.userId).postsDeleted++;
      return reply(204);
    },
  },
  { method: 'POST', path: /^\/rest\/images$/, auth: true, handle: initializeUpload('image') },
  { method: 'POST', path: /^\/rest\/documents$/, auth: true, handle: initializeUpload('document') },
  { method: 'GET', path: /^\/rest\/images\/([^/]+)$/, auth: true, handle: readAsset('image') },
  { method: 'GET', path: /^\/rest\/documents\/([^/]+)$/, auth: true, handle: readAsset('document') },
  {
    method: 'PUT',
    path: /^\/upload\/([\w-]+)$/,
    auth: true,
    handle: ({ state, match, raw, token }) => {
      const a = [...state.assets.values()].find((x) => x.uploadId === match[1]);
      if (!a || a.userId !== token!.userId) return restError(404, 'NOT_FOUND', 'Upload URL not found');
      if (raw.length === 0) return restError(400, 'ILLEGAL_ARGUMENT', 'Empty upload');
      if (a.status === 'WAITING_UPLOAD') state.countersOf(a.userId).assetsUploaded++;
      a.bytes = raw.length;
      a.status = 'PROCESSING';
      a.readyAt = state.now() + state.options.processingMs(a.kind);
      return reply(201);
    },
  },
  {
    method: 'GET',
    path: /^\/rest\/memberCreatorPostAnalytics$/,
    auth: true,
    handle: ({ state, url, token }) => {
      // `r_member_postAnalytics`; `entity` is the post's URN of type share or ugcPost, sent as
      // the Rest.li union the page's sample requests show: `entity=(share:urn%3Ali%3Ashare%3A…)`
      // or `entity=(ugc:urn%3Ali%3AugcPost%3A…)`; a bare URN is not a union value and is refused
      // (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/members/post-statistics).
      if (!token!.scopes.includes('r_member_postAnalytics'))
        return restError(
          403,
          'ACCESS_DENIED',
          'Not enough permissions to access: memberCreatorPostAnalytics.FINDER-entity',
        );
      const entity = /^\((share|ugc):(urn:li:(share|ugcPost):\d+)\)$/.exec(url.searchParams.get('entity') ?? '');
      if (!entity || (entity[1] === 'ugc') !== (entity[3] === 'ugcPost'))
        return restError(
          400,
          'ILLEGAL_ARGUMENT',
          `Invalid value for param entity: ${url.searchParams.get('entity') ?? ''} (expected (share:<share urn>) or (ugc:<ugcPost urn>))`,
        );
      const p = state.posts.get(entity[2]!);
      if (!p || p.author !== `urn:li:person:${token!.userId}`)
        return restError(400, 'ILLEGAL_ARGUMENT', 'entity must be a post of the authenticated member');
      const key = (
        { REACTION: 'reactions', COMMENT: 'comments', RESHARE: 'reshares', IMPRESSION: 'impressions' } as const
      )[url.searchParams.get('queryType') as 'REACTION'];
      if (!key || url.searchParams.get('aggregation') !== 'TOTAL')
        return restError(400, 'ILLEGAL_ARGUMENT', 'Unsupported queryType or aggregation');
      return reply(200, { elements: [{ count: p.metrics[key], metricType: { [key]: {} } }] });
    },
  },
  {
    method: 'GET',
    path: /^\/rest\/organizationalEntityShareStatistics$/,
    auth: true,
    handle: (c) => {
      const org = c.url.searchParams.get('organizationalEntity') ?? '';
      if (c.url.searchParams.get('q') !== 'organizationalEntity' || !mayActAs(c, org))
        return restError(403, 'ACCESS_DENIED', 'Not enough permissions to read these statistics');
      const list = /^List\((.+)\)$/.exec(c.url.searchParams.get('shares') ?? c.url.searchParams.get('ugcPosts') ?? '');
      const urn = list?.[1];
      const p = urn ? c.state.posts.get(urn) : undefined;
      if (!p || p.author !== org) return reply(200, { elements: [] });
      return reply(200, {
        elements: [
          {
            organizationalEntity: org,
            share: p.urn,
            totalShareStatistics: {
              likeCount: p.metrics.reactions,
              commentCount: p.metrics.comments,
              shareCount: p.metrics.reshares,
              impressionCount: p.metrics.impressions,
              clickCount: 0,
              engagement: 0,
            },
          },
        ],
      });
    },
  },
];

/**
 * Follower counts: a member's own (`memberFollowersCount?q=me`, r_member_profileAnalytics,
 * learn.microsoft.com/en-us/linkedin/marketing/community-management/members/follower-statistics)
 * and a page's (`networkSizes/{organization urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER`, the
 * Organization Lookup API: rw_organization_admin and an administrator role).
 */
const FOLLOWER_ROUTES: Route[] = [
  {
    method: 'GET',
    path: /^\/rest\/memberFollowersCount$/,
    auth: true,
    handle: ({ state, url, token }) => {
      if (!token!.scopes.includes('r_member_profileAnalytics'))
        return restError(403, 'ACCESS_DENIED', 'Not enough permissions to access: memberFollowersCount.FINDER-me');
      if (url.searchParams.get('q') !== 'me')
        return restError(400, 'ILLEGAL_ARGUMENT', 'Unsupported finder: use q=me or q=dateRange');
      const followers = state.members.get(token!.userId)?.followers ?? 0;
      return reply(200, {
        elements: [{ memberFollowersCount: followers }],
        paging: { count: 10, start: 0, links: [] },
      });
    },
  },
  {
    method: 'GET',
    path: /^\/rest\/networkSizes\/([^/]+)$/,
    auth: true,
    handle: ({ state, url, token, match }) => {
      const urn = decodeURIComponent(match[1]!);
      if (!/^urn:li:organization:\d+$/.test(urn))
        return restError(400, 'ILLEGAL_ARGUMENT', `${urn} is not an organization URN`);
      if (url.searchParams.get('edgeType') !== 'COMPANY_FOLLOWED_BY_MEMBER')
        return restError(400, 'ILLEGAL_ARGUMENT', 'edgeType must be COMPANY_FOLLOWED_BY_MEMBER');
      const known =
        state.pageFollowers.has(urn) || [...state.members.values()].some((m) => m.organizations.includes(urn));
      if (!known) return restError(404, 'NOT_FOUND', `Organization ${urn} not found`);
      const admin = !!state.members.get(token!.userId)?.organizations.includes(urn);
      if (!token!.scopes.includes('rw_organization_admin') || !admin)
        return restError(403, 'ACCESS_DENIED', 'Not enough permissions to access: networkSizes.GET');
      return reply(200, { firstDegreeSize: state.pageFollowers.get(urn) ?? 0 });
    },
  },
];

async function answer(state: LinkedInFakeState, req: IncomingMessage, url: URL): Promise<Reply> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  let json: Record<string, unknown> = {};
  if (type.includes('application/json') && raw.length > 0) {
    try {
      json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return restError(400, 'ILLEGAL_ARGUMENT', 'Malformed JSON');
    }
  }
  const form = new URLSearchParams(type.includes('application/x-www-form-urlencoded') ? raw.toString('utf8') : '');
  const route = [...ROUTES, ...FOLLOWER_ROUTES].find((r) => r.method === req.method && r.path.test(url.pathname));
  if (!route) return restError(404, 'NOT_FOUND', `No route ${req.method} ${url.pathname}`);
  if (url.pathname.startsWith('/rest/')) {
    const version = String(req.headers['linkedin-version'] ?? '');
    if (!/^\d{6}$/.test(version))
      return restError(
        400,
        'VERSION_MISSING',
        'A version must be present. Please specify a version by adding the LinkedIn-Version header.',
      );
    // A sunset version is refused before anything else, 426 Upgrade Required
    // (https://learn.microsoft.com/en-us/linkedin/marketing/versioning).
    if (version < state.options.oldestVersion)
      return restError(426, 'NONEXISTENT_VERSION', `Requested version ${version} is not active`);
    if (req.headers['x-restli-protocol-version'] !== '2.0.0')
      return restError(400, 'ILLEGAL_ARGUMENT', 'This API requires X-Restli-Protocol-Version: 2.0.0');
  }
  const c: Ctx = { state, req, url, form, json, raw, match: route.path.exec(url.pathname)!, token: null };
  if (!route.auth) return route.handle(c);
  const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : '';
  const token = state.tokens.get(bearer);
  if (!token || token.revoked)
    return restError(401, 'REVOKED_ACCESS_TOKEN', 'The token used in the request has been revoked by the user', 65_601);
  if (token.expiresAt <= state.now())
    return restError(401, 'EXPIRED_ACCESS_TOKEN', 'The token used in the request has expired', 65_601);
  c.token = token;
  const rate = state.consumeRate(token.userId);
  // Daily limits, reset at midnight UTC; the 429 carries no wait header
  // (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits).
  const throttled = () =>
    reply(429, {
      status: 429,
      code: 'TOO_MANY_REQUESTS',
      message: 'Resource level throttle limit for calls to this resource is reached.',
    });
  if (rate.exceeded) return throttled();
  const fault = route.creates ? state.takeFault(token.userId) : undefined;
  if (fault === 'rate_limited') return throttled();
  if (fault === 'server_error') return restError(503, 'SERVICE_UNAVAILABLE', 'Service Unavailable');
  if (fault === 'invalid_content')
    return restError(
      422,
      'UNPROCESSABLE_ENTITY',
      'Content is not allowed: the post violates the Professional Community Policies',
    );
  const out = route.handle(c);
  return fault === 'timeout_after_apply' ? 'hang' : out;
}

async function dispatch(state: LinkedInFakeState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://fake.invalid');
  let r: Reply;
  try {
    r = await answer(state, req, url);
  } catch {
    r = restError(500, 'INTERNAL_SERVER_ERROR', 'Internal Server Error');
  }
  if (r === 'hang') return;
  const payload = r.body === undefined ? '' : JSON.stringify(r.body);
  res
    .writeHead(r.status, {
      ...(payload ? { 'content-type': 'application/json' } : {}),
      'x-li-uuid': nextId(),
      ...r.headers,
    })
    .end(payload);
}

export async function listen(state: LinkedInFakeState, port = 0): Promise<Server> {
  const server = createServer((req, res) => void dispatch(state, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('fake LinkedIn: no TCP address');
  state.baseUrl = `http://127.0.0.1:${address.port}`;
  return server;
}
