/**
 * `POST /v1/media/from-url` on a real API (loopback, PGlite, Redis) against a local origin
 * server: the bytes are fetched, sniffed and stored like an upload (same bytes → the same
 * record), the size limit holds with and without a Content-Length, an origin's error or a
 * non-media body is a typed error, a viewer is refused before anything is fetched, and with
 * the default outbound policy a loopback URL is refused before a byte is sent.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalMediaStore, setOutboundPolicy } from '../../core/index.js';
import { startApiEnv, type ApiEnv } from '../helpers/api-env.js';
import { solidPng } from '../helpers/media-fixtures.js';

const LIMIT = 64 * 1024;
let api: ApiEnv;
let storeDir: string;
let origin: Server;
let base: string;
let png: Buffer;
const hits: string[] = [];

beforeAll(async () => {
  png = await solidPng(16, 16, '#aa3300');
  storeDir = await mkdtemp(path.join(os.tmpdir(), 'herald-media-url-'));
  api = await startApiEnv({ limits: { mediaMaxBytes: LIMIT }, mediaStore: new LocalMediaStore(storeDir) });
  origin = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (req.url === '/photo.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    if (req.url === '/moved') return res.writeHead(302, { location: '/photo.png' }).end();
    if (req.url === '/page')
      return res.writeHead(200, { 'content-type': 'image/png' }).end('<html>not an image</html>');
    if (req.url === '/big-declared')
      return res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(LIMIT + 1) }).end();
    if (req.url === '/big-chunked') {
      res.writeHead(200, { 'content-type': 'image/png' });
      const chunk = Buffer.alloc(8 * 1024, 1);
      for (let i = 0; i < 12; i++) res.write(chunk);
      return res.end();
    }
    res.writeHead(404).end('gone');
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await api?.close();
  await new Promise((r) => origin?.close(r));
  await rm(storeDir, { recursive: true, force: true });
});

const fromUrl = (auth: Record<string, string>, payload: Record<string, unknown>) =>
  api.app.inject({ method: 'POST', url: '/v1/media/from-url', headers: auth, payload });

describe('media from a URL', () => {
  it('stores the image at a URL (after a redirect) like an upload, and the same bytes again are the same record', async () => {
    const p = await api.signUp();
    const first = await fromUrl(p.auth, { url: `${base}/moved`, altText: 'An orange square' });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json()).toMatchObject({
      kind: 'image',
      mimeType: 'image/png',
      width: 16,
      height: 16,
      altText: 'An orange square',
    });
    const again = await fromUrl(p.auth, { url: `${base}/photo.png` });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    const content = await api.app.inject({
      method: 'GET',
      url: `/v1/media/${first.json().id}/content`,
      headers: p.auth,
    });
    expect(content.headers['content-type']).toBe('image/png');
  });

  it("answers the origin's failure, a non-media body and an oversize body with typed errors, storing nothing", async () => {
    const p = await api.signUp();
    const missing = await fromUrl(p.auth, { url: `${base}/nothing-here` });
    expect(missing.statusCode).toBe(502);
    expect(missing.json().error).toMatchObject({
      code: 'media_fetch_failed',
      details: { reason: 'status', status: 404 },
    });
    const page = await fromUrl(p.auth, { url: `${base}/page` });
    expect(page.statusCode).toBe(415);
    for (const url of [`${base}/big-declared`, `${base}/big-chunked`]) {
      const big = await fromUrl(p.auth, { url });
      expect(big.statusCode, url).toBe(413);
      expect(big.json().error.code).toBe('payload_too_large');
    }
    const bad = await fromUrl(p.auth, { url: 'file:///etc/passwd' });
    expect(bad.statusCode).toBe(400);
    const list = await api.app.inject({ method: 'GET', url: '/v1/media', headers: p.auth });
    expect(list.json().items).toEqual([]);
  });

  it('a viewer is refused before anything is fetched', async () => {
    const owner = await api.signUp();
    const inv = await api.app.inject({
      method: 'POST',
      url: '/v1/invitations',
      headers: owner.auth,
      payload: { email: `${randomUUID()}@example.com`, role: 'viewer' },
    });
    const viewer = await api.signUp({ invitationToken: inv.json().token });
    const before = hits.length;
    const res = await fromUrl(viewer.auth, { url: `${base}/photo.png?viewer` });
    expect(res.statusCode).toBe(403);
    expect(hits.length).toBe(before);
  });

  it('with the default outbound policy a loopback URL is refused and never requested', async () => {
    const p = await api.signUp();
    const before = hits.length;
    setOutboundPolicy({ allow: [] });
    try {
      const res = await fromUrl(p.auth, { url: `${base}/photo.png?refused` });
      expect(res.statusCode).toBe(502);
      expect(res.json().error).toMatchObject({
        code: 'media_fetch_failed',
        details: { reason: 'address_refused', range: 'loopback' },
      });
    } finally {
      setOutboundPolicy({ allow: ['loopback'] });
    }
    expect(hits.length).toBe(before);
  });
});
