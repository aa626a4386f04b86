/**
 * User-given URLs (core/net/outbound, used by knowledge pages and feeds and product pages):
 * by default only public addresses are fetched — a literal loopback, private, link-local or
 * metadata address, a name that resolves to one, and a redirect hop to one are refused with
 * `knowledge_fetch_failed` / `address_refused` before any byte is sent; `OUTBOUND_ALLOW`
 * entries widen it, each hop judged on its own.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeraldError, loadConfig, refusedRange, setOutboundPolicy } from '../../core/index.js';
import { fetchCapped } from '../../knowledge/index.js';

let server: Server;
let port: number;
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    if (req.url?.startsWith('/hop')) {
      res.writeHead(302, { location: `http://127.0.0.2:${port}/page` }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<html><title>t</title><p>hello</p></html>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  setOutboundPolicy({ allow: ['loopback'] }); // as test/setup/outbound.ts left it
  await new Promise((r) => server.close(r));
});

const get = (url: string) =>
  fetchCapped(url, { timeoutMs: 2_000, maxBytes: 1 << 16 }, 'text/html', (t) => t === 'text/html', 'an HTML page');

async function refusal(url: string): Promise<HeraldError> {
  const err = await get(url).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HeraldError);
  return err as HeraldError;
}

describe('outbound policy for user-given URLs', () => {
  it('judges addresses by range: public unicast passes, every other range is refused unless allowed', () => {
    const none = { allow: [] };
    expect(refusedRange('93.184.216.34', none)).toBeNull();
    expect(refusedRange('2606:4700::1111', none)).toBeNull();
    for (const [address, range] of [
      ['127.0.0.1', 'loopback'],
      ['10.1.2.3', 'private'],
      ['192.168.0.10', 'private'],
      ['172.16.5.4', 'private'],
      ['169.254.169.254', 'linkLocal'],
      ['0.0.0.0', 'unspecified'],
      ['100.64.0.1', 'carrierGradeNat'],
      ['::1', 'loopback'],
      ['::ffff:127.0.0.1', 'loopback'],
      ['fd00::1', 'uniqueLocal'],
      ['fe80::1', 'linkLocal'],
    ] as const) {
      expect(refusedRange(address, none), address).toBe(range);
    }
    expect(refusedRange('10.1.2.3', { allow: ['private'] })).toBeNull();
    expect(refusedRange('10.1.2.3', { allow: ['10.1.0.0/16'] })).toBeNull();
    expect(refusedRange('10.2.0.1', { allow: ['10.1.0.0/16'] })).toBe('private');
    expect(refusedRange('127.0.0.2', { allow: ['127.0.0.1'] })).toBe('loopback');
    expect(refusedRange('169.254.169.254', { allow: ['any'] })).toBeNull();
  });

  it('by default refuses a literal loopback address, a name resolving to one, and sends nothing', async () => {
    setOutboundPolicy({ allow: [] });
    const before = hits;
    for (const url of [
      `http://127.0.0.1:${port}/page`,
      `http://localhost:${port}/page`,
      `http://[::ffff:127.0.0.1]:${port}/page`,
    ]) {
      const err = await refusal(url);
      expect(err.code, url).toBe('knowledge_fetch_failed');
      expect(err.details, url).toMatchObject({ reason: 'address_refused', range: 'loopback' });
      expect(err.message).toContain('does not fetch');
    }
    expect(hits).toBe(before);
  });

  it('an allowed address is fetched, and a redirect hop to an address not allowed is refused', async () => {
    setOutboundPolicy({ allow: ['127.0.0.1/32'] });
    const page = await get(`http://127.0.0.1:${port}/page`);
    expect(page?.body.toString()).toContain('hello');
    const err = await refusal(`http://127.0.0.1:${port}/hop`);
    expect(err.details).toMatchObject({ reason: 'address_refused', range: 'loopback' });
  });

  it('OUTBOUND_ALLOW is read and checked at config load', () => {
    expect(loadConfig({ env: {} }).api.outboundAllow).toEqual([]);
    expect(loadConfig({ env: { OUTBOUND_ALLOW: 'loopback, 10.0.0.0/8' } }).api.outboundAllow).toEqual([
      'loopback',
      '10.0.0.0/8',
    ]);
    expect(() => loadConfig({ env: { OUTBOUND_ALLOW: 'intranet' } })).toThrow(/OUTBOUND_ALLOW/);
  });
});
