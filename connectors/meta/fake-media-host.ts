/**
 * A public media host for tests (a real HTTP server on loopback): stands in for Herald's
 * `/v1/public-media` where a test has no Herald API running, so the Meta fakes download the
 * media as Meta does, streamed from the file's `open` when it has one (as Herald's route streams
 * from the store). `fail` makes the next downloads answer an error status.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256Of, type MediaUrls } from './media-urls.js';

export interface FakeMediaHost {
  urls: MediaUrls;
  /** The next `n` downloads answer `status` (default 404). */
  fail(n: number, status?: number): void;
  downloads(): number;
  close(): Promise<void>;
}

export async function startFakeMediaHost(): Promise<FakeMediaHost> {
  const files = new Map<string, { size: number; type: string; read: () => Promise<Readable> }>();
  let failures = 0;
  let failStatus = 404;
  let downloads = 0;
  const server = createServer((req, res) => {
    downloads++;
    const name = (req.url ?? '').split('?')[0]!.replace(/^\/media\//, '');
    const file = files.get(name);
    if (failures > 0) {
      failures--;
      res.writeHead(failStatus).end();
      return;
    }
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'content-length': file.size });
    void file
      .read()
      .then((body) => pipeline(body, res))
      .catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    urls: {
      async urlFor(m) {
        const name = await sha256Of(m);
        const read = m.open ? () => m.open!() : async () => Readable.from([m.bytes]);
        files.set(name, { size: m.open ? m.sizeBytes : m.bytes.length, type: m.mimeType, read });
        return `${base}/media/${name}`;
      },
    },
    fail(n, status = 404) {
      failures = n;
      failStatus = status;
    },
    downloads: () => downloads,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
