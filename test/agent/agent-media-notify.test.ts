/**
 * The agent's media and notification tools over the WebSocket with the scripted model: "use
 * the photo at <url>" is picked by tool selection (media group), fetched into the library
 * through the same service as REST (the record is there, alt text kept); "send post failures
 * only to Telegram" routes that kind for this user (notification_settings), as REST shows.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { solidPng } from '../helpers/media-fixtures.js';
import { startAgentEnv, toolResults, type AgentEnv } from './agent-env.js';

let env: AgentEnv;
let origin: Server;
let base: string;

beforeAll(async () => {
  env = await startAgentEnv();
  const png = await solidPng(10, 10, '#224488');
  origin = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
}, 60_000);
afterAll(async () => {
  await env?.close();
  await new Promise((r) => origin?.close(r));
});

function boundTools(req: { body: Record<string, unknown> }): string[] {
  return ((req.body.tools as Array<{ function: { name: string } }> | undefined) ?? []).map((t) => t.function.name);
}

describe('agent media and notification tools', () => {
  it('fetches an image from a URL into the library, and routes a kind of notification', async () => {
    const p = await env.api.signUp();
    const c = await env.connect(p);
    const bound: string[][] = [];
    env.brain = (req) => {
      bound.push(boundTools(req));
      return toolResults(req).length === 0
        ? {
            toolCalls: [
              { name: 'upload_media_from_url', args: { url: `${base}/sunrise.png`, altText: 'A blue square' } },
            ],
          }
        : { text: 'Added.' };
    };
    const turn = await c.say(`Please upload the photo at ${base}/sunrise.png`, `media-${p.userId}`);
    await c.end(turn);
    expect(bound[0]).toContain('upload_media_from_url');
    const end = c.ofTurn(turn).find((e) => e.type === 'tool_end');
    expect(end, JSON.stringify(c.ofTurn(turn))).toMatchObject({ ok: true });
    const library = await env.api.app.inject({ method: 'GET', url: '/v1/media', headers: p.auth });
    expect(library.json().items).toMatchObject([{ kind: 'image', mimeType: 'image/png', altText: 'A blue square' }]);

    env.brain = (req) =>
      toolResults(req).length === 0
        ? { toolCalls: [{ name: 'notification_settings', args: { kind: 'post.failed', channels: ['telegram'] } }] }
        : { text: 'Done.' };
    const t2 = await c.say('Send my post failure notifications only to Telegram', `notify-${p.userId}`);
    await c.end(t2);
    const prefs = await env.api.app.inject({ method: 'GET', url: '/v1/notifications/preferences', headers: p.auth });
    expect(
      (prefs.json().items as Array<{ kind: string; channels: string[] }>).find((i) => i.kind === 'post.failed'),
    ).toMatchObject({
      channels: ['telegram'],
      custom: true,
    });
    c.close();
  });
});
