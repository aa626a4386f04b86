/**
 * A campaign end to end over the real API (Fastify on loopback, PGlite, real Redis, the
 * publish worker) against the platforms' fakes (Bluesky's real PDS, the LinkedIn fake):
 * three products (one read from a product page's JSON-LD, one from a CSV catalogue), a
 * two-week campaign on Bluesky and LinkedIn whose proposed timeline is edited and approved
 * as a whole → posts published with distinct tracked links → real HTTP clicks on /l/:code
 * (bot user agents and a repeat visitor among them) drained into the database → signed
 * postbacks (one replayed, one forged) → clicks, conversions, revenue and commission per
 * post, product, platform and campaign exactly as planted.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/index.js';
import { createBlueskyConnector } from '../../connectors/bluesky/index.js';
import { startBlueskyTestbed, type BlueskyTestbed } from '../../connectors/bluesky/fake.js';
import { createLinkedInConnector } from '../../connectors/linkedin/index.js';
import { startLinkedInFake, type LinkedInFake } from '../../connectors/linkedin/fake.js';
import { signPostback } from '../../tools/campaigns/index.js';
import { startClickDrainer } from '../../tools/links/index.js';
import { startApiEnv, type ApiEnv, type Person } from '../helpers/api-env.js';
import { eventually, REDIS_URL } from '../helpers/publishing-env.js';

let bed: BlueskyTestbed;
let li: LinkedInFake;
let api: ApiEnv;
let drain: { close(): Promise<void> };
let shop: Server;
let shopUrl: string;

const PAGE = `<!doctype html><html><head><title>Kiln Pro 3000 | Shop</title>
<meta property="og:title" content="Kiln Pro 3000 (OG)">
<meta property="og:image" content="/img/kiln.jpg">
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebPage","name":"x"},
{"@type":"Product","name":"Kiln Pro 3000","image":["https://cdn.example.test/kiln-1.jpg"],"description":"A studio kiln that reaches cone 10. Quiet and efficient.","category":"Pottery > Kilns","brand":{"@type":"Brand","name":"Kilnworks"},
"offers":{"@type":"Offer","price":"1299.00","priceCurrency":"USD","url":"https://shop.example.test/kiln"}}]}</script>
</head><body><h1>Kiln Pro 3000</h1></body></html>`;

beforeAll(async () => {
  bed = await startBlueskyTestbed();
  li = await startLinkedInFake();
  api = await startApiEnv({
    connectors: [
      createBlueskyConnector({ timeoutMs: 2_000 }),
      createLinkedInConnector({
        clientId: li.clientId,
        clientSecret: li.clientSecret,
        apiUrl: li.url,
        oauthUrl: li.url,
        timeoutMs: 2_000,
      }),
    ],
  });
  api.env.startWorker();
  drain = startClickDrainer({
    db: api.env.database.db,
    redisUrl: REDIS_URL,
    keyPrefix: api.env.prefix,
    logger: createLogger({ level: 'silent' }),
    uniqueWindowMs: 3_600_000,
  });
  shop = createServer((req, res) => {
    if (req.url === '/kiln') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => shop.listen(0, '127.0.0.1', r));
  shopUrl = `http://127.0.0.1:${(shop.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await drain?.close();
  await api?.close();
  await bed?.close();
  await li?.close();
  await new Promise((r) => shop?.close(r));
});

async function call<T = Record<string, unknown>>(
  person: Person,
  method: string,
  url: string,
  payload?: unknown,
  expectStatus?: number,
): Promise<T> {
  const res = await api.app.inject({
    method: method as 'GET',
    url,
    headers: person.auth,
    ...(payload !== undefined ? { payload: payload as object } : {}),
  });
  if (expectStatus !== undefined) expect(res.statusCode, res.body).toBe(expectStatus);
  else expect(res.statusCode, res.body).toBeLessThan(300);
  return (res.body ? res.json() : {}) as T;
}

interface CampaignView {
  id: string;
  status: string;
  timelineVersion: number;
  timeline: Array<{
    key: string;
    at: string;
    socialAccountId: string;
    platform: string;
    productId: string;
    kind: string;
    content: string;
    variantGroup?: string | null;
    variant?: string | null;
  }>;
  posts: Array<{
    itemKey: string;
    postId: string;
    targetId: string;
    platform: string;
    linkId: string;
    linkCode: string;
    status: string;
  }>;
}

describe('a two-week affiliate campaign on Bluesky and LinkedIn', () => {
  it('goes from products to an approved timeline, published posts with their own links, clicks, postbacks and revenue per post', async () => {
    const owner = await api.signUp({ timeZone: 'Europe/Paris' });
    const sky = await bed.createAccount();
    await api.env.addAccount(owner.workspaceId, {
      platform: 'bluesky',
      externalId: sky.did,
      handle: sky.handle,
      credentials: { ...sky.credentials },
    });
    const member = li.createAccount({ name: 'Ada Potter' });
    await api.env.addAccount(owner.workspaceId, {
      platform: 'linkedin',
      externalId: member.memberId,
      handle: member.name,
      credentials: { accessToken: member.accessToken },
    });

    // A program (10% of the sale, USD) and its postback secret, shown once.
    const program = await call<{ id: string; postbackSecret: string; postbackPath: string }>(
      owner,
      'POST',
      '/v1/campaigns/programs',
      {
        name: 'ClayNet',
        kind: 'network',
        network: 'ClayNet',
        commissionType: 'percent',
        commissionValue: 10,
        cookieDays: 30,
        payoutCurrency: 'USD',
      },
    );
    expect(program.postbackSecret.length).toBeGreaterThan(30);

    // Three products: from a page's JSON-LD, from a CSV catalogue (two rows), by hand nothing more.
    const kiln = await call<{
      id: string;
      name: string;
      price: string;
      currency: string;
      images: string[];
      category: string;
      extracted: { from: string[] };
    }>(owner, 'POST', '/v1/products/from-page', {
      url: `${shopUrl}/kiln`,
      affiliateLinks: [{ programId: program.id, url: 'https://claynet.example.test/c/kiln?aff=42' }],
      testimonials: [{ quote: 'Fired perfectly from the first load.', author: 'Mia, studio potter' }],
    });
    expect(kiln).toMatchObject({
      name: 'Kiln Pro 3000',
      price: '1299.00',
      currency: 'USD',
      category: 'Pottery > Kilns',
      images: ['https://cdn.example.test/kiln-1.jpg'],
    });
    expect(kiln.extracted.from).toEqual(['json-ld']);
    const catalogue = await call<{
      imported: number;
      products: Array<{ id: string; name: string; affiliateLinks: unknown[] }>;
      problems: unknown[];
    }>(owner, 'POST', '/v1/products/import', {
      programId: program.id,
      csv: 'name,url,price,currency,category,notes,affiliate_url\nGlaze Set,https://shop.example.test/glaze,49.50,USD,Glazes,Twelve food-safe glazes.,https://claynet.example.test/c/glaze?aff=42\nWheel Mini,https://shop.example.test/wheel,399,USD,Wheels,A tabletop wheel for small studios.,https://claynet.example.test/c/wheel?aff=42\n',
    });
    expect(catalogue).toMatchObject({ imported: 2, problems: [] });
    expect(catalogue.products.every((p) => p.affiliateLinks.length === 1)).toBe(true);
    const productIds = [kiln.id, ...catalogue.products.map((p) => p.id)];

    // "Run a two-week campaign for these three products on Bluesky and LinkedIn".
    const from = new Date(Date.now() + 3_600_000);
    const to = new Date(from.getTime() + 14 * 86_400_000);
    const proposed = await call<CampaignView>(
      owner,
      'POST',
      '/v1/campaigns',
      {
        name: 'Spring studio',
        productIds,
        accounts: ['bluesky', 'linkedin'],
        from: from.toISOString(),
        to: to.toISOString(),
        postsPerWeek: 2,
        cost: 10,
        costCurrency: 'EUR',
      },
      201,
    );
    expect(proposed.status).toBe('draft');
    expect(proposed.timeline).toHaveLength(8); // 2 a week × 2 weeks × 2 accounts
    expect(new Set(proposed.timeline.map((i) => i.productId))).toEqual(new Set(productIds));
    expect(new Set(proposed.timeline.map((i) => i.platform))).toEqual(new Set(['bluesky', 'linkedin']));
    for (const i of proposed.timeline) {
      expect(new Date(i.at).getTime()).toBeGreaterThanOrEqual(from.getTime());
      expect(new Date(i.at).getTime()).toBeLessThan(to.getTime());
      expect(i.content.startsWith('#ad ')).toBe(true);
      expect(i.content).toContain('{link}');
    }
    // Nothing is scheduled before approval.
    const before = await call<{ posts: unknown[] }>(owner, 'GET', `/v1/campaigns/${proposed.id}`);
    expect(before.posts).toHaveLength(0);

    // The user edits the timeline (moves it to now, so the fakes see it published) and approves it whole.
    const soon = Date.now() + 4_000;
    const edited = await call<CampaignView>(owner, 'PUT', `/v1/campaigns/${proposed.id}/timeline`, {
      timelineVersion: proposed.timelineVersion,
      items: proposed.timeline.map((i, n) => ({ ...i, at: new Date(soon + n * 250).toISOString() })),
    });
    expect(edited.timelineVersion).toBe(proposed.timelineVersion + 1);
    // Approving the version the user did not see is refused.
    await call(
      owner,
      'POST',
      `/v1/campaigns/${proposed.id}/approve`,
      { timelineVersion: proposed.timelineVersion },
      409,
    );
    const approved = await call<CampaignView>(owner, 'POST', `/v1/campaigns/${proposed.id}/approve`, {
      timelineVersion: edited.timelineVersion,
    });
    expect(approved.status).toBe('active');
    expect(approved.posts).toHaveLength(8);
    expect(new Set(approved.posts.map((p) => p.linkCode)).size).toBe(8);

    const published = await eventually(
      async () => {
        const c = await call<CampaignView>(owner, 'GET', `/v1/campaigns/${proposed.id}`);
        return c.posts.every((p) => p.status === 'published') ? c : undefined;
      },
      60_000,
      'every campaign post published',
    );
    // On the platforms: each post carries its own short link and the disclosure.
    const skyTexts = (await bed.listPosts(sky.did)).map((p) => p.text);
    const liTexts = li.posts(`urn:li:person:${member.memberId}`).map((p) => p.text);
    expect(skyTexts).toHaveLength(4);
    expect(liTexts).toHaveLength(4);
    for (const p of published.posts) {
      const texts = p.platform === 'bluesky' ? skyTexts : liTexts;
      expect(texts.filter((t) => t.includes(`/l/${p.linkCode}`))).toHaveLength(1);
    }

    // Clicks: post n gets n+1 distinct visitors, one of them twice, and two bots.
    const posts = published.posts;
    const locations = new Map<string, string>();
    for (const [n, p] of posts.entries()) {
      const hit = async (ua: string) => {
        const res = await fetch(`${api.baseUrl}/l/${p.linkCode}`, {
          redirect: 'manual',
          headers: { 'user-agent': ua },
        });
        expect(res.status).toBe(302);
        locations.set(p.itemKey, res.headers.get('location')!);
      };
      for (let v = 0; v <= n; v++)
        await hit(`Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 visitor-${n}-${v}`);
      await hit(`Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 visitor-${n}-0`);
      await hit('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)');
      await hit('facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)');
    }
    const sent = posts.reduce((s, _p, n) => s + n + 4, 0);
    await eventually(
      async () => {
        const r = await api.env.database.db.execute(
          `select count(*)::int as n from link_clicks where workspace_id = '${owner.workspaceId}'`,
        );
        return Number((r as unknown as { rows: Array<{ n: number }> }).rows[0]!.n) === sent || undefined;
      },
      20_000,
      'every click drained',
    );
    // The redirect sent people to the affiliate link with UTM parameters naming the campaign item.
    const first = new URL(locations.get(posts[0]!.itemKey)!);
    expect(first.origin).toBe('https://claynet.example.test');
    expect(first.searchParams.get('utm_content')).toBe(`hc-${proposed.id}-${posts[0]!.itemKey}`);

    // Postbacks, signed with the program's secret over the raw body.
    await call(owner, 'PUT', '/v1/campaigns/rates', {
      currency: 'EUR',
      rate: 1.1,
      date: new Date().toISOString().slice(0, 10),
    });
    const postback = async (body: object, secret = program.postbackSecret) => {
      const raw = JSON.stringify(body);
      return fetch(`${api.baseUrl}${program.postbackPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-herald-signature': signPostback(secret, raw) },
        body: raw,
      });
    };
    const [p0, p1, p2] = posts;
    const sub0 = new URL(locations.get(p0!.itemKey)!).searchParams.get('utm_content')!;
    const sub1 = new URL(locations.get(p1!.itemKey)!).searchParams.get('utm_content')!;
    expect((await postback({ transactionId: 'T-1', subId: sub0, amount: 100, currency: 'USD' })).status).toBe(201);
    expect((await postback({ transactionId: 'T-2', subId: sub0, amount: 50 })).status).toBe(201);
    expect(
      (await postback({ transactionId: 'T-3', subId: sub1, amount: 80, commission: 12, currency: 'EUR' })).status,
    ).toBe(201);
    expect((await postback({ transactionId: 'T-4', subId: p2!.linkCode, amount: 20, currency: 'USD' })).status).toBe(
      201,
    );
    // Replayed: accepted, counted once.
    const replay = await postback({ transactionId: 'T-1', subId: sub0, amount: 100, currency: 'USD' });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ duplicate: true });
    // A reversal of a transaction (same id, status reversed) changes its status only, and it counts nowhere.
    const reversal = await postback({ transactionId: 'T-9', subId: sub1, amount: 500, currency: 'USD' });
    expect(reversal.status).toBe(201);
    const reversed = await postback({
      transactionId: 'T-9',
      subId: sub1,
      amount: 500,
      currency: 'USD',
      status: 'reversed',
    });
    expect(reversed.status).toBe(200);
    expect(await reversed.json()).toMatchObject({ duplicate: false, updated: true, status: 'reversed' });
    const again = await postback({
      transactionId: 'T-9',
      subId: sub1,
      amount: 500,
      currency: 'USD',
      status: 'reversed',
    });
    expect(await again.json()).toMatchObject({ duplicate: true, updated: false });
    // Forged: a signature under another secret, and a body altered after signing.
    expect((await postback({ transactionId: 'T-5', subId: sub0, amount: 9999 }, 'not-the-secret')).status).toBe(401);
    const raw = JSON.stringify({ transactionId: 'T-6', subId: sub0, amount: 1 });
    const tampered = await fetch(`${api.baseUrl}${program.postbackPath}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-herald-signature': signPostback(program.postbackSecret, raw) },
      body: raw.replace('"amount":1', '"amount":1000'),
    });
    expect(tampered.status).toBe(401);

    interface Fig {
      clicks: number;
      uniqueClicks: number;
      botClicks: number;
      conversions: number;
      revenue: number;
      commission: number;
      epc: number | null;
      conversionRate: number | null;
    }
    const report = await call<{
      currency: string;
      totals: Fig & { roi: number | null; cost: number };
      byPost: Array<Fig & { itemKey: string; platform: string; linkCode: string }>;
      byProduct: Array<Fig & { productId: string }>;
      byPlatform: Array<Fig & { platform: string }>;
    }>(owner, 'GET', `/v1/campaigns/${proposed.id}/report`);
    expect(report.currency).toBe('USD');
    const planted: Record<number, { conversions: number; revenue: number; commission: number }> = {
      0: { conversions: 2, revenue: 150, commission: 15 },
      1: { conversions: 1, revenue: 88, commission: 13.2 },
      2: { conversions: 1, revenue: 20, commission: 2 },
    };
    for (const [n, p] of posts.entries()) {
      const row = report.byPost.find((r) => r.itemKey === p.itemKey)!;
      const want = planted[n] ?? { conversions: 0, revenue: 0, commission: 0 };
      expect(row, `post ${n}`).toMatchObject({ clicks: n + 2, uniqueClicks: n + 1, botClicks: 2, ...want });
      expect(row.epc).toBeCloseTo(want.commission / (n + 2), 4);
      expect(row.conversionRate).toBeCloseTo(want.conversions / (n + 1), 4);
    }
    expect(report.totals).toMatchObject({
      conversions: 4,
      revenue: 258,
      commission: 30.2,
      botClicks: 16,
      clicks: sent - 16,
      // The cost, 10 EUR at the stored 1.1: ROI = (30.2 − 11) / 11.
      cost: 11,
      roi: 1.7455,
    });
    const byPlatformSum = report.byPlatform.reduce((s, r) => s + r.commission, 0);
    expect(byPlatformSum).toBeCloseTo(30.2, 4);
    const byProductSum = report.byProduct.reduce((s, r) => s + r.revenue, 0);
    expect(byProductSum).toBeCloseTo(258, 2);

    // Across campaigns, per product: the same clicks and money, split by product.
    const perProduct = await call<{ products: Array<Fig & { productId: string }> }>(
      owner,
      'GET',
      '/v1/products/report',
    );
    expect(perProduct.products).toHaveLength(3);
    expect(perProduct.products.reduce((n, p) => n + p.clicks, 0)).toBe(sent - 16);
    expect(perProduct.products.reduce((n, p) => n + p.revenue, 0)).toBeCloseTo(258, 2);
    for (const p of perProduct.products)
      expect(p).toMatchObject({ revenue: report.byProduct.find((b) => b.productId === p.productId)?.revenue ?? 0 });
    // Pause holds what is scheduled (nothing is left here), end closes the campaign.
    const paused = await call<{ status: string; held: number }>(owner, 'POST', `/v1/campaigns/${proposed.id}/pause`);
    expect(paused).toMatchObject({ status: 'paused', held: 0 });
    const ended = await call<{ status: string }>(owner, 'POST', `/v1/campaigns/${proposed.id}/end`);
    expect(ended.status).toBe('ended');
  }, 180_000);

  it('A/B groups: no winner on noise, the planted winner on a real difference, from real clicks and postbacks', async () => {
    const owner = await api.signUp({ timeZone: 'UTC' });
    const sky = await bed.createAccount();
    await api.env.addAccount(owner.workspaceId, {
      platform: 'bluesky',
      externalId: sky.did,
      handle: sky.handle,
      credentials: { ...sky.credentials },
    });
    const program = await call<{ id: string; postbackSecret: string; postbackPath: string }>(
      owner,
      'POST',
      '/v1/campaigns/programs',
      {
        name: 'AB net',
        kind: 'direct',
        commissionType: 'flat',
        commissionValue: 2,
        payoutCurrency: 'USD',
      },
    );
    const product = await call<{ id: string }>(owner, 'POST', '/v1/products', {
      name: 'Trimming Tool',
      url: 'https://shop.example.test/trim',
      notes: 'Carbide blade.',
      affiliateLinks: [{ programId: program.id, url: 'https://ab.example.test/trim' }],
    });
    const c = await call<CampaignView & { timeline: Array<{ key: string; variantGroup?: string; variant?: string }> }>(
      owner,
      'POST',
      '/v1/campaigns',
      {
        name: 'AB',
        productIds: [product.id],
        accounts: ['bluesky'],
        from: new Date(Date.now() + 86_400_000).toISOString(),
        to: new Date(Date.now() + 8 * 86_400_000).toISOString(),
        postsPerWeek: 4,
        abTest: true,
      },
      201,
    );
    const groups = [...new Set(c.timeline.map((i) => i.variantGroup))];
    expect(groups).toHaveLength(2);
    expect(c.timeline.map((i) => i.variant)).toEqual(['A', 'B', 'A', 'B']);
    // The two texts of a pair differ.
    expect(c.timeline[0]!.content).not.toBe(c.timeline[1]!.content);
    const approved = await call<CampaignView>(owner, 'POST', `/v1/campaigns/${c.id}/approve`, {
      timelineVersion: c.timelineVersion,
    });
    const post = (key: string) => approved.posts.find((p) => p.itemKey === key)!;
    // 40 visitors on each variant; conversions planted: noise 4 vs 5, a real difference 1 vs 20.
    const planted = [
      { key: c.timeline[0]!.key, conversions: 4 },
      { key: c.timeline[1]!.key, conversions: 5 },
      { key: c.timeline[2]!.key, conversions: 1 },
      { key: c.timeline[3]!.key, conversions: 20 },
    ];
    let tx = 0;
    for (const { key, conversions } of planted) {
      const code = post(key).linkCode;
      for (let v = 0; v < 40; v++) {
        const res = await fetch(`${api.baseUrl}/l/${code}`, {
          redirect: 'manual',
          headers: { 'user-agent': `Mozilla/5.0 Firefox/128.0 ab-${key}-${v}` },
        });
        expect(res.status).toBe(302);
      }
      for (let k = 0; k < conversions; k++) {
        const raw = JSON.stringify({ transactionId: `AB-${++tx}`, subId: code, amount: 30 });
        const res = await fetch(`${api.baseUrl}${program.postbackPath}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-herald-signature': signPostback(program.postbackSecret, raw),
          },
          body: raw,
        });
        expect(res.status).toBe(201);
      }
    }
    const report = await eventually(
      async () => {
        const r = await call<{
          byPost: Array<{ uniqueClicks: number }>;
          abTests: Array<{ group: string; winner: string | null; test: string; pValue: number; reason: string }>;
        }>(owner, 'GET', `/v1/campaigns/${c.id}/report`);
        return r.byPost.every((p) => p.uniqueClicks === 40) ? r : undefined;
      },
      20_000,
      'every click drained',
    );
    const noise = report.abTests.find((t) => t.group === c.timeline[0]!.variantGroup)!;
    const real = report.abTests.find((t) => t.group === c.timeline[2]!.variantGroup)!;
    expect(noise.winner).toBeNull();
    expect(noise.pValue).toBeGreaterThan(0.05);
    expect(noise.reason).toContain('could be chance');
    expect(real.winner).toBe('B');
    expect(real.pValue).toBeLessThan(0.001);
  }, 120_000);
});
