/**
 * Campaign rules on real parts (PGlite, Redis, the X and LinkedIn fakes on loopback): the
 * disclosure check at schedule time per platform (refused with the rule it breaks, nothing
 * written), a timeline whose edited item lost its disclosure refused as a whole, pause and
 * resume of scheduled posts, product pages read from Open Graph when JSON-LD is missing,
 * network CSV reports imported idempotently, a missing exchange rate refused, the A/B test's
 * statistics, and workspace isolation of products, campaigns, reports and attribution.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTarget, schema } from '../../core/index.js';
import { createXConnector } from '../../connectors/x/index.js';
import { startXFake, type XFake } from '../../connectors/x/fake.js';
import { createLinkedInConnector } from '../../connectors/linkedin/index.js';
import { startLinkedInFake, type LinkedInFake } from '../../connectors/linkedin/fake.js';
import {
  addConversion,
  addProduct,
  approveCampaign,
  campaignReport,
  compareVariants,
  erfc,
  createCampaign,
  createProgram,
  editTimeline,
  fisherExact,
  getCampaign,
  getProduct,
  importConversionsCsv,
  importProductPage,
  pauseCampaign,
  receivePostback,
  resumeCampaign,
  signPostback,
  twoProportionZ,
  updateCampaignSettings,
  type CampaignsDeps,
} from '../../tools/campaigns/index.js';
import { createTrackedLink } from '../../tools/links/index.js';
import { schedulePost } from '../../tools/scheduling/index.js';
import { startPublishingEnv, type PublishingEnv } from '../helpers/publishing-env.js';

let x: XFake;
let li: LinkedInFake;
let env: PublishingEnv;
let deps: CampaignsDeps;
let pages: Server;
let pagesUrl: string;

beforeAll(async () => {
  x = await startXFake();
  li = await startLinkedInFake();
  env = await startPublishingEnv({
    connectors: [
      createXConnector({ clientId: x.clientId, clientSecret: x.clientSecret, apiUrl: x.url, timeoutMs: 1_000 }),
      createLinkedInConnector({
        clientId: li.clientId,
        clientSecret: li.clientSecret,
        apiUrl: li.url,
        oauthUrl: li.url,
        timeoutMs: 1_000,
      }),
    ],
  });
  deps = { scheduling: env.deps, links: { db: env.deps.db, baseUrl: 'https://go.example.test' }, cipher: env.cipher };
  pages = createServer((req, res) => {
    if (req.url === '/og')
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><head>
<meta property="og:title" content="Banding Wheel &amp; Stand"><meta content="https://cdn.example.test/w.jpg" property="og:image">
<meta property="product:price:amount" content="89.90"><meta property="product:price:currency" content="EUR">
<meta property="og:description" content="Cast iron, 30 cm."><script type="application/ld+json">{ broken json</script></head><body></body></html>`);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  pagesUrl = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
}, 60_000);
afterAll(async () => {
  await env?.close();
  await x?.close();
  await li?.close();
  await new Promise((r) => pages?.close(r));
});

async function workspace() {
  const { ctx, workspaceId } = await env.newWorkspace();
  const xa = x.createAccount();
  const xId = await env.addAccount(workspaceId, {
    platform: 'x',
    externalId: xa.userId,
    handle: xa.username,
    credentials: { accessToken: xa.accessToken, refreshToken: xa.refreshToken },
  });
  const m = li.createAccount();
  const liId = await env.addAccount(workspaceId, {
    platform: 'linkedin',
    externalId: m.memberId,
    handle: m.name,
    credentials: { accessToken: m.accessToken },
  });
  const program = await createProgram(deps, ctx, {
    name: 'Net',
    kind: 'network',
    commissionType: 'percent',
    commissionValue: 8,
    payoutCurrency: 'USD',
  });
  const product = await addProduct(deps, ctx, {
    name: 'Glaze Set',
    url: `https://shop.example.test/glaze/${workspaceId}`,
    price: 49.5,
    currency: 'USD',
    notes: 'Twelve food-safe glazes.',
    affiliateLinks: [{ programId: program.id, url: `https://net.example.test/c/${workspaceId.slice(0, 8)}?aff=1` }],
  });
  return { ctx, workspaceId, xId, liId, program, product };
}

const targetRows = async (workspaceId: string) =>
  (await env.deps.db.select().from(schema.postTargets)).filter((t) => t.workspaceId === workspaceId);

describe('disclosure at schedule time', () => {
  it('refuses an affiliate link without a disclosure, naming the platform rule, and writes nothing', async () => {
    const w = await workspace();
    const link = await createTrackedLink(deps.links, w.ctx, {
      destinationUrl: 'https://net.example.test/c/1',
      productId: w.product.id,
    });
    const at = new Date(Date.now() + 3_600_000);
    const err = await schedulePost(env.deps, w.ctx, {
      content: `Love these glazes ${link.shortUrl}`,
      targets: [{ socialAccountId: w.xId }],
      at,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'disclosure_missing',
      status: 422,
      details: { rule: 'x.disclosure_in_post', platform: 'x', part: 0 },
    });
    expect((err as Error).message).toContain('FTC');
    // "#adventure" is not "#ad".
    const err2 = await schedulePost(env.deps, w.ctx, {
      content: `#adventure glazes ${link.shortUrl}`,
      targets: [{ socialAccountId: w.xId }],
      at,
    }).catch((e: unknown) => e);
    expect(err2).toMatchObject({ code: 'disclosure_missing' });
    // The product's raw affiliate URL counts as an affiliate link too.
    const err3 = await schedulePost(env.deps, w.ctx, {
      content: `Glazes https://net.example.test/c/${w.workspaceId.slice(0, 8)}?aff=1`,
      targets: [{ socialAccountId: w.xId }],
      at,
    }).catch((e: unknown) => e);
    expect(err3).toMatchObject({ code: 'disclosure_missing' });
    expect(await targetRows(w.workspaceId)).toHaveLength(0);

    // LinkedIn: the disclosure must come before the "see more" fold.
    const late = `${'Glazing notes from the studio. '.repeat(6)}#ad ${link.shortUrl}`;
    const err4 = await schedulePost(env.deps, w.ctx, {
      content: late,
      targets: [{ socialAccountId: w.liId }],
      at,
    }).catch((e: unknown) => e);
    expect(err4).toMatchObject({
      code: 'disclosure_missing',
      details: { rule: 'linkedin.disclosure_above_fold', within: 140 },
    });
    // The same text on X is fine (its rule has no fold); with the disclosure first, LinkedIn takes it.
    const onX = await schedulePost(env.deps, w.ctx, { content: late, targets: [{ socialAccountId: w.xId }], at });
    expect(onX.targets[0]!.status).toBe('scheduled');
    const ok = await schedulePost(env.deps, w.ctx, {
      content: `#ad Glazing notes ${link.shortUrl}`,
      targets: [{ socialAccountId: w.liId }],
      at,
    });
    expect(ok.targets[0]!.status).toBe('scheduled');
    // A workspace's own disclosures count ("affiliate link").
    await updateCampaignSettings(deps, w.ctx, { disclosures: ['#ad', 'affiliate link'] });
    const ok2 = await schedulePost(env.deps, w.ctx, {
      content: `Glazes I use (affiliate link): ${link.shortUrl}`,
      targets: [{ socialAccountId: w.xId }],
      at,
    });
    expect(ok2.targets[0]!.status).toBe('scheduled');
    // A tracked link that is not affiliate (no campaign, no product) needs none.
    const plain = await createTrackedLink(deps.links, w.ctx, { destinationUrl: 'https://blog.example.test/post' });
    await expect(
      schedulePost(env.deps, w.ctx, {
        content: `New post ${plain.shortUrl}`,
        targets: [{ socialAccountId: w.xId }],
        at: new Date(at.getTime() + 60_000),
      }),
    ).resolves.toBeTruthy();
  });

  it('refuses the whole approval when one edited item lost its disclosure: nothing is scheduled', async () => {
    const w = await workspace();
    const c = await createCampaign(deps, w.ctx, {
      name: 'Glazes',
      productIds: [w.product.id],
      accounts: [w.xId, w.liId],
      from: new Date(Date.now() + 86_400_000).toISOString(),
      to: new Date(Date.now() + 8 * 86_400_000).toISOString(),
      postsPerWeek: 2,
    });
    expect(c.timeline.length).toBe(4);
    const items = c.timeline.map((i, n) => (n === 2 ? { ...i, content: i.content.replace(/^#ad /, '') } : i));
    const edited = await editTimeline(deps, w.ctx, c.id, { timelineVersion: c.timelineVersion, items });
    const err = await approveCampaign(deps, w.ctx, c.id, { timelineVersion: edited.timelineVersion }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'disclosure_missing' });
    expect(await targetRows(w.workspaceId)).toHaveLength(0);
    expect((await getCampaign(deps, w.ctx, c.id)).status).toBe('draft');
    // The refusal left no tracked links behind; refused twice, still none.
    const campaignLinks = async () =>
      (await env.deps.db.select().from(schema.trackedLinks)).filter((l) => l.campaignId === c.id);
    await expect(approveCampaign(deps, w.ctx, c.id, { timelineVersion: edited.timelineVersion })).rejects.toMatchObject(
      { code: 'disclosure_missing' },
    );
    expect(await campaignLinks()).toHaveLength(0);
    // Fixed and approved: one link per item, each the one its post carries.
    const fixed = await editTimeline(deps, w.ctx, c.id, { timelineVersion: edited.timelineVersion, items: c.timeline });
    const approved = await approveCampaign(deps, w.ctx, c.id, { timelineVersion: fixed.timelineVersion });
    expect(approved.posts).toHaveLength(4);
    const links = await campaignLinks();
    expect(links.map((l) => l.id).sort()).toEqual(approved.posts.map((p) => p.linkId).sort());
    expect(links.every((l) => l.postId && l.targetId)).toBe(true);
  });
});

describe('campaign lifecycle', () => {
  it('pause holds scheduled posts as drafts out of the queue; resume schedules them again', async () => {
    const w = await workspace();
    const c = await createCampaign(deps, w.ctx, {
      name: 'Later',
      productIds: [w.product.id],
      accounts: ['x'],
      from: new Date(Date.now() + 2 * 86_400_000).toISOString(),
      to: new Date(Date.now() + 9 * 86_400_000).toISOString(),
      postsPerWeek: 3,
    });
    const approved = await approveCampaign(deps, w.ctx, c.id, { timelineVersion: c.timelineVersion });
    expect(approved.posts).toHaveLength(3);
    expect(approved.posts.every((p) => p.status === 'scheduled')).toBe(true);
    const jobs = async () =>
      (await Promise.all(approved.posts.map((p) => env.queue.queue.getJob(p.targetId)))).filter(Boolean).length;
    expect(await jobs()).toBe(3);
    const paused = await pauseCampaign(deps, w.ctx, c.id);
    expect(paused).toMatchObject({ status: 'paused', held: 3 });
    expect(paused.posts.every((p) => p.status === 'draft')).toBe(true);
    expect(await jobs()).toBe(0);
    const resumed = await resumeCampaign(deps, w.ctx, c.id);
    expect(resumed).toMatchObject({ status: 'active', resumed: 3, missed: [] });
    for (const p of approved.posts) {
      const t = (await getTarget(env.deps.db, w.workspaceId, p.targetId))!;
      expect(t.status).toBe('scheduled');
      expect(t.scheduledAt!.toISOString()).toBe(p.scheduledAt);
    }
    expect(await jobs()).toBe(3);
  });
});

describe('products and conversions', () => {
  it('reads a product from Open Graph tags when the page has no usable JSON-LD', async () => {
    const w = await workspace();
    const p = await importProductPage(deps, w.ctx, `${pagesUrl}/og`);
    expect(p).toMatchObject({
      name: 'Banding Wheel & Stand',
      price: '89.90',
      currency: 'EUR',
      images: ['https://cdn.example.test/w.jpg'],
      notes: 'Cast iron, 30 cm.',
      source: 'page',
    });
    expect(p.extracted.from).toEqual(['open-graph']);
  });

  it("imports a network's CSV report once: a second import adds nothing; a currency without a rate is refused per row", async () => {
    const w = await workspace();
    const link = await createTrackedLink(deps.links, w.ctx, {
      destinationUrl: 'https://net.example.test/c/1',
      productId: w.product.id,
    });
    const csv = `Order ID,Sub ID,Sale Amount,Commission,Currency,Date,Status\nA-1,${link.code},100.00,,USD,2026-01-05T10:00:00Z,approved\nA-2,,40,3.5,USD,2026-01-06T10:00:00Z,pending\nA-3,,10,1,GBP,2026-01-06T10:00:00Z,approved\n`;
    const first = await importConversionsCsv(deps, w.ctx, w.program.id, csv);
    expect(first.added).toBe(2);
    expect(first.problems).toEqual([{ row: 4, message: expect.stringContaining('No GBP→USD rate') }]);
    const again = await importConversionsCsv(deps, w.ctx, w.program.id, csv);
    expect(again).toMatchObject({ added: 0, duplicates: 2 });
    const rows = (await env.deps.db.select().from(schema.conversions)).filter((r) => r.workspaceId === w.workspaceId);
    expect(rows.map((r) => [r.transactionId, r.commission, r.productId, r.linkId]).sort()).toEqual([
      ['A-1', '8.0000', w.product.id, link.id],
      ['A-2', '3.5000', null, null],
    ]);
  });

  it('moves a conversion only forward: a late approval or an old report after a reversal is ignored, not applied', async () => {
    const w = await workspace();
    const secret = (await import('../../tools/campaigns/programs.js')).programSecret(
      env.cipher,
      (await env.deps.db.select().from(schema.affiliatePrograms)).find((p) => p.id === w.program.id)!,
    );
    const postback = (status: string) => {
      const raw = JSON.stringify({ transactionId: 'R-1', amount: 100, currency: 'USD', status });
      return receivePostback(
        { db: env.deps.db, cipher: env.cipher, campaigns: deps },
        { programId: w.program.id, signature: signPostback(secret, raw), rawBody: raw },
      );
    };
    const stored = async () =>
      (await env.deps.db.select().from(schema.conversions)).find(
        (r) => r.workspaceId === w.workspaceId && r.transactionId === 'R-1',
      )!.status;
    expect(await postback('pending')).toMatchObject({ duplicate: false, updated: false, ignored: false });
    expect(await postback('approved')).toMatchObject({ updated: true, ignored: false, status: 'approved' });
    // A pending postback arriving after the approval does not undo it.
    expect(await postback('pending')).toMatchObject({ updated: false, ignored: true, status: 'approved' });
    expect(await postback('reversed')).toMatchObject({ updated: true, ignored: false, status: 'reversed' });
    // A replayed (or late) approval after the reversal: answered, not applied; the commission stays reversed.
    expect(await postback('approved')).toMatchObject({
      duplicate: false,
      updated: false,
      ignored: true,
      status: 'reversed',
    });
    expect(await postback('pending')).toMatchObject({ ignored: true, status: 'reversed' });
    expect(await stored()).toBe('reversed');
    // Re-importing an old report that still says approved changes nothing either.
    const csv = `Order ID,Sale Amount,Currency,Status\nR-1,100,USD,approved\nR-2,20,USD,approved\n`;
    expect(await importConversionsCsv(deps, w.ctx, w.program.id, csv)).toMatchObject({
      added: 1,
      duplicates: 0,
      ignored: 1,
      problems: [],
    });
    expect(await stored()).toBe('reversed');
    const audits = (await env.deps.db.select().from(schema.auditLog)).filter(
      (a) => a.workspaceId === w.workspaceId && a.action.startsWith('conversion.status'),
    );
    audits.sort((a, b) => a.id - b.id);
    expect(audits.map((a) => [a.action, a.details.from, a.details.to])).toEqual([
      ['conversion.status', 'pending', 'approved'],
      ['conversion.status_ignored', 'approved', 'pending'],
      ['conversion.status', 'approved', 'reversed'],
      ['conversion.status_ignored', 'reversed', 'approved'],
      ['conversion.status_ignored', 'reversed', 'pending'],
      ['conversion.status_ignored', 'reversed', 'approved'],
    ]);
  });
});

describe('A/B verdicts', () => {
  // A seeded generator, so the simulation is the same on every run.
  function rng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const trial = (next: () => number, n: number, rate: number) =>
    Array.from({ length: n }, () => (next() < rate ? 1 : 0) as number).reduce((a, b) => a + b, 0);

  it('declares no winner on noise in at least 93% of null experiments, and the planted winner in at least 95%', () => {
    const next = rng(20261207);
    let falseWinners = 0;
    for (let i = 0; i < 400; i++) {
      const v = compareVariants([
        { variant: 'A', uniqueClicks: 300, conversions: trial(next, 300, 0.08) },
        { variant: 'B', uniqueClicks: 300, conversions: trial(next, 300, 0.08) },
      ]);
      if (v.winner) falseWinners++;
    }
    expect(falseWinners / 400).toBeLessThanOrEqual(0.07);
    let found = 0;
    for (let i = 0; i < 200; i++) {
      const v = compareVariants([
        { variant: 'A', uniqueClicks: 300, conversions: trial(next, 300, 0.05) },
        { variant: 'B', uniqueClicks: 300, conversions: trial(next, 300, 0.15) },
      ]);
      if (v.winner === 'B') found++;
      expect(v.winner).not.toBe('A');
    }
    expect(found / 200).toBeGreaterThanOrEqual(0.95);
  });

  it('uses the exact test on small counts and refuses a verdict on thin data', () => {
    // The tea-tasting style table from Fisher's test literature: [[1, 9], [11, 3]], p ≈ 0.0028.
    expect(fisherExact(1, 9, 11, 3)).toBeCloseTo(0.002759, 5);
    expect(twoProportionZ(50, 500, 50, 500)).toBe(1);
    const small = compareVariants([
      { variant: 'A', uniqueClicks: 40, conversions: 0 },
      { variant: 'B', uniqueClicks: 40, conversions: 7 },
    ]);
    expect(small).toMatchObject({ test: 'fisher', winner: 'B' });
    const thin = compareVariants([
      { variant: 'A', uniqueClicks: 12, conversions: 0 },
      { variant: 'B', uniqueClicks: 12, conversions: 9 },
    ]);
    expect(thin.winner).toBeNull();
    expect(thin.reason).toContain('Not enough data');
  });
});

describe('workspace isolation', () => {
  it("another workspace sees none of the campaign's rows, and a postback cannot attribute to its links", async () => {
    const a = await workspace();
    const b = await workspace();
    const c = await createCampaign(deps, a.ctx, {
      name: 'Mine',
      productIds: [a.product.id],
      accounts: ['x'],
      from: new Date(Date.now() + 86_400_000).toISOString(),
      to: new Date(Date.now() + 5 * 86_400_000).toISOString(),
      postsPerWeek: 2,
    });
    const notFound = { code: 'not_found' };
    await expect(getCampaign(deps, b.ctx, c.id)).rejects.toMatchObject(notFound);
    await expect(campaignReport(deps, b.ctx, c.id)).rejects.toMatchObject(notFound);
    await expect(getProduct(deps, b.ctx, a.product.id)).rejects.toMatchObject(notFound);
    await expect(
      createCampaign(deps, b.ctx, {
        name: 'x',
        productIds: [a.product.id],
        accounts: ['x'],
        from: new Date(Date.now() + 86_400_000).toISOString(),
        to: new Date(Date.now() + 3 * 86_400_000).toISOString(),
        postsPerWeek: 1,
      }),
    ).rejects.toMatchObject(notFound);
    await expect(
      addConversion(deps, b.ctx, { campaignId: c.id, amount: 10, commission: 1, currency: 'USD' }),
    ).rejects.toMatchObject(notFound);
    await expect(addConversion(deps, b.ctx, { programId: a.program.id, amount: 10 })).rejects.toMatchObject(notFound);
    // B's program postback naming A's link code: recorded in B, attributed to nothing of A's.
    const aLink = await createTrackedLink(deps.links, a.ctx, {
      destinationUrl: 'https://net.example.test/c/a',
      productId: a.product.id,
    });
    const secret = (await import('../../tools/campaigns/programs.js')).programSecret(
      env.cipher,
      (await env.deps.db.select().from(schema.affiliatePrograms)).find((p) => p.id === b.program.id)!,
    );
    const raw = JSON.stringify({ transactionId: 'X-1', subId: aLink.code, amount: 10 });
    const got = await receivePostback(
      { db: env.deps.db, cipher: env.cipher, campaigns: deps },
      { programId: b.program.id, signature: signPostback(secret, raw), rawBody: raw },
    );
    expect(got).toMatchObject({ duplicate: false, campaignId: null, productId: null, postId: null });
    // A's secret does not sign for B's program.
    const aSecret = (await import('../../tools/campaigns/programs.js')).programSecret(
      env.cipher,
      (await env.deps.db.select().from(schema.affiliatePrograms)).find((p) => p.id === a.program.id)!,
    );
    await expect(
      receivePostback(
        { db: env.deps.db, cipher: env.cipher, campaigns: deps },
        { programId: b.program.id, signature: signPostback(aSecret, raw), rawBody: raw },
      ),
    ).rejects.toMatchObject({ code: 'postback_signature_invalid' });
  });
});

describe('the z-test tail', () => {
  it('stays accurate far out (a CDF table would stop at p = 0.002)', () => {
    // 1 − Φ(4.83) ≈ 6.83e-7 (two-sided ≈ 1.37e-6): 1/40 vs 20/40 conversions.
    expect(twoProportionZ(1, 40, 20, 40)).toBeGreaterThan(1e-6);
    expect(twoProportionZ(1, 40, 20, 40)).toBeLessThan(2e-6);
    // z = 1.96 is the 5% two-sided point.
    expect(erfc(1.959964 / Math.SQRT2)).toBeCloseTo(0.05, 6);
  });
});

describe('the proposed timeline and the catalogue', () => {
  it("puts every post at one of the account's best hours, within the range, spread over it", async () => {
    const w = await workspace();
    const { bestTimes } = await import('../../tools/analytics/index.js');
    const best = await bestTimes({ db: env.deps.db }, w.ctx, w.xId);
    const hours = new Set(best.best.map((b) => b.hour));
    const from = new Date(Date.now() + 2 * 86_400_000);
    const to = new Date(from.getTime() + 14 * 86_400_000);
    const c = await createCampaign(deps, w.ctx, {
      name: 'Spread',
      productIds: [w.product.id],
      accounts: ['x'],
      from: from.toISOString(),
      to: to.toISOString(),
      postsPerWeek: 3,
    });
    expect(c.timeline).toHaveLength(6);
    const local = (iso: string) =>
      Number(
        new Intl.DateTimeFormat('en-GB', { timeZone: w.ctx.timeZone, hour: '2-digit', hourCycle: 'h23' }).format(
          new Date(iso),
        ),
      );
    for (const i of c.timeline) {
      expect(hours.has(local(i.at)), `${i.at} at a best hour (${[...hours].join(', ')})`).toBe(true);
      expect(new Date(i.at) >= from && new Date(i.at) < to).toBe(true);
    }
    // Spread: the first week and the second each get posts.
    const mid = from.getTime() + 7 * 86_400_000;
    expect(c.timeline.filter((i) => new Date(i.at).getTime() < mid).length).toBeGreaterThanOrEqual(2);
    expect(c.timeline.filter((i) => new Date(i.at).getTime() >= mid).length).toBeGreaterThanOrEqual(2);
  });

  it('imports a catalogue: rows become products, a row with a known URL updates it, bad rows are reported by number', async () => {
    const { importCatalogue, listProducts } = await import('../../tools/campaigns/index.js');
    const w = await workspace();
    const report = await importCatalogue(
      deps,
      w.ctx,
      `title\tlink\tprice\tcurrency\timages\nKiln\thttps://shop.example.test/kiln\t1.299,00\tEUR\thttps://cdn.example.test/a.jpg|https://cdn.example.test/b.jpg\n\thttps://shop.example.test/none\t1\tUSD\t\nGlaze Set\t${`https://shop.example.test/glaze/${w.workspaceId}`}\t55\tUSD\t\nWheel\tnot a url\t3\tUSD\t\n`,
    );
    expect(report.imported).toBe(2);
    expect(report.problems.map((p) => p.row)).toEqual([3, 5]);
    const products = await listProducts(deps, w.ctx);
    expect(products.map((p) => p.name).sort()).toEqual(['Glaze Set', 'Kiln']);
    expect(products.find((p) => p.name === 'Kiln')).toMatchObject({
      price: '1299.00',
      currency: 'EUR',
      images: ['https://cdn.example.test/a.jpg', 'https://cdn.example.test/b.jpg'],
      source: 'csv',
    });
    // The existing product (same URL) was updated in place, keeping its affiliate link.
    const glaze = products.find((p) => p.name === 'Glaze Set')!;
    expect(glaze.id).toBe(w.product.id);
    expect(glaze.price).toBe('55.00');
    expect(glaze.affiliateLinks).toHaveLength(1);
  });
});
