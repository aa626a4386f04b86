/**
 * "Run a two-week campaign for these three products" through the agent: the model lists the
 * products and proposes the campaign (nothing scheduled), approving it asks the user with
 * the timeline item by item, and the confirmation schedules every post with its own tracked
 * link; the content suite comes from the model (the router's writer) with a made-up
 * testimonial dropped; the report arrives as data. Real WebSocket, PGlite, Redis, the
 * Mastodon fake, the scripted OpenAI-protocol model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addProduct, getCampaign, type CampaignsDeps } from '../../tools/campaigns/index.js';
import { startAgentEnv, toolResults, type AgentEnv } from './agent-env.js';

let env: AgentEnv;

beforeAll(async () => {
  env = await startAgentEnv();
}, 90_000);
afterAll(async () => {
  await env?.close();
});

const data = (s: string) => JSON.parse(s.replace(/^<untrusted>|<\/untrusted>$/g, '')) as Record<string, unknown>;

describe('a campaign through the agent', () => {
  it('proposes a two-week timeline, schedules it only once the user confirms, and reports on it', async () => {
    const { p, accountId } = await env.personWithMastodon();
    const ctx = {
      workspaceId: p.workspaceId,
      userId: p.userId,
      role: 'owner' as const,
      timeZone: 'Europe/Paris',
      channel: 'test',
    };
    const deps: CampaignsDeps = { scheduling: env.api.env.deps, links: env.api.deps.links!.deps };
    const ids: string[] = [];
    for (const name of ['Kiln', 'Glaze Set', 'Wheel'])
      ids.push(
        (
          await addProduct(deps, ctx, {
            name,
            url: `https://shop.example.test/${name.replace(' ', '-').toLowerCase()}`,
            price: 10,
            currency: 'USD',
            testimonials: name === 'Kiln' ? [{ quote: 'Fired perfectly.', author: 'Mia' }] : [],
          })
        ).id,
      );

    let campaignId = '';
    let version = 0;
    env.brain = (req) => {
      const results = toolResults(req);
      if (results.length === 0) return { toolCalls: [{ name: 'list_products', args: {} }] };
      if (results.length === 1)
        return {
          toolCalls: [
            {
              name: 'create_campaign',
              args: {
                name: 'Two weeks',
                productIds: ids,
                accounts: ['mastodon'],
                from: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10),
                to: new Date(Date.now() + 15 * 86_400_000).toISOString().slice(0, 10),
                postsPerWeek: 3,
              },
            },
          ],
        };
      if (results.length === 2) {
        const c = data(results[1]!) as { campaignId: string; timelineVersion: number };
        campaignId = c.campaignId;
        version = c.timelineVersion;
        return { toolCalls: [{ name: 'approve_campaign', args: { campaignId, timelineVersion: version } }] };
      }
      return { text: 'Scheduled.' };
    };
    const c = await env.connect(p);
    const turn = await c.say('Run a two-week campaign for these three products on Mastodon', 't-campaign');
    const ask = await c.confirmRequest(turn);
    // Proposed, not scheduled: the draft has its timeline and no posts until the user says yes.
    const draft = await getCampaign(deps, ctx, campaignId);
    expect(draft.status).toBe('draft');
    expect(draft.timeline).toHaveLength(6);
    expect(draft.posts).toHaveLength(0);
    expect(ask.action!.summary).toContain('Schedule 6 post(s) of campaign "Two weeks"');
    expect((ask.action!.details as { items: unknown[] }).items).toHaveLength(6);
    c.send({ type: 'confirm', turnId: turn, requestId: ask.requestId });
    expect(await c.end(turn)).toMatchObject({ reason: 'done' });
    const approved = await getCampaign(deps, ctx, campaignId);
    expect(approved.status).toBe('active');
    expect(approved.posts).toHaveLength(6);
    expect(approved.posts.every((x) => x.status === 'scheduled')).toBe(true);
    expect(new Set(approved.posts.map((x) => x.linkCode)).size).toBe(6);

    // The content suite, written by the model; an invented testimonial is dropped.
    env.brain = (req) => {
      const system = String((req.body.messages as Array<{ role: string; content: unknown }>)[0]?.content ?? '');
      if (system.includes('affiliate social posts'))
        return {
          text: JSON.stringify({
            posts: [
              { kind: 'review', account: accountId, text: '#ad The Kiln fires evenly to cone 10. Read more: {link}' },
              { kind: 'testimonial', account: accountId, text: '#ad "Best kiln ever!" — Someone. {link}' },
              { kind: 'promotional', account: accountId, text: 'Kiln on sale {link}' },
            ],
          }),
        };
      const results = toolResults(req);
      if (results.length === 0)
        return {
          toolCalls: [
            {
              name: 'generate_campaign_content',
              args: { productId: ids[0], accounts: ['mastodon'], kinds: ['review', 'testimonial', 'promotional'] },
            },
          ],
        };
      if (results.length === 1) return { toolCalls: [{ name: 'campaign_report', args: { campaignId } }] };
      return { text: 'Here it is.' };
    };
    const turn2 = await c.say('Write the content suite for the kiln, then show the report', 't-campaign');
    expect(await c.end(turn2)).toMatchObject({ reason: 'done' });
    const outputs = c.ofTurn(turn2).filter((e) => e.type === 'tool_result' || e.type === 'tool_end');
    expect(outputs.length).toBeGreaterThan(0);
    const suite = env.llm.requests
      .flatMap((r) =>
        ((r.body.messages as Array<{ role: string; content: unknown }> | undefined) ?? [])
          .filter((m) => m.role === 'tool')
          .map((m) => String(m.content)),
      )
      .find((s) => s.includes('"dropped"'))!;
    const parsed = data(suite) as { posts: Array<{ kind: string }>; dropped: Array<{ kind: string; reason: string }> };
    expect(parsed.posts.map((x) => x.kind)).toEqual(['review']);
    expect(parsed.dropped.map((d) => d.kind).sort()).toEqual(['promotional', 'testimonial']);
    const report = env.llm.requests
      .flatMap((r) =>
        ((r.body.messages as Array<{ role: string; content: unknown }> | undefined) ?? [])
          .filter((m) => m.role === 'tool')
          .map((m) => String(m.content)),
      )
      .find((s) => s.includes('"byPost"'))!;
    expect((data(report) as { byPost: unknown[] }).byPost).toHaveLength(6);
    c.close();
  }, 60_000);
});
