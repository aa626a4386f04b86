/**
 * `herald mcp`, the stdio bridge desktop clients start, as a real child process (bin/herald.js)
 * driven by the SDK's stdio client against a real Herald: it shows the remote tools, relays a
 * call with the key's scopes, answers a refused key with an error instead of hanging, and
 * refuses to start without its configuration.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startApiEnv, type ApiEnv } from '../../helpers/api-env.js';

const BIN = path.resolve(import.meta.dirname, '../../../bin/herald.js');
let api: ApiEnv;
const clients: Client[] = [];

beforeAll(async () => {
  api = await startApiEnv();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await api?.close();
});

async function bridge(apiKey: string): Promise<Client> {
  const client = new Client({ name: 'herald-stdio-test', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp'],
    env: { PATH: process.env.PATH ?? '', HERALD_URL: api.baseUrl, HERALD_API_KEY: apiKey },
    stderr: 'pipe',
  });
  clients.push(client);
  await client.connect(transport);
  return client;
}

describe('herald mcp (stdio bridge)', () => {
  it("relays the remote tools and a call with the key's scopes", async () => {
    const me = await api.signUp();
    const res = await api.app.inject({
      method: 'POST',
      url: '/v1/api-keys',
      headers: me.auth,
      payload: { name: 'desktop', scopes: ['read'] },
    });
    expect(res.statusCode, res.body).toBe(201);
    const client = await bridge(res.json().secret as string);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('list_posts');
    const listed = (await client.callTool({ name: 'list_posts', arguments: {} })) as {
      isError?: boolean;
      structuredContent?: { items: unknown[] };
    };
    expect(listed.isError).toBeFalsy();
    expect(listed.structuredContent!.items).toEqual([]);
    const refused = (await client.callTool({
      name: 'create_draft',
      arguments: { text: 'x', accounts: ['bluesky'] },
    })) as { isError?: boolean; structuredContent?: unknown; _meta?: Record<string, unknown> };
    expect(refused.structuredContent).toBeUndefined();
    expect(refused._meta?.['herald/error']).toMatchObject({ code: 'forbidden' });
  }, 60_000);

  it('an unknown key is answered with an error, not left hanging', async () => {
    await expect(bridge('hk_not_a_real_key')).rejects.toThrow(/refused or failed/);
  }, 60_000);

  it('refuses to start without HERALD_URL and HERALD_API_KEY', () => {
    const run = spawnSync(process.execPath, [BIN, 'mcp'], {
      env: { PATH: process.env.PATH ?? '' },
      input: '',
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/HERALD_URL/);
    expect(run.stdout).toBe('');
  }, 60_000);
});
