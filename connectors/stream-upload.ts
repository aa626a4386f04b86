/**
 * Sending a stored file's bytes to a platform without holding them: the request body is piped
 * from the media store (`MediaInput.open(range)`) into a `node:http(s)` request with its
 * `Content-Length` known, so the socket's back-pressure paces the disk and at most a stream
 * buffer (64 KiB) is in memory. `fetch` is not used for these bodies: it copies a `Buffer`
 * body and has no way to stream one with a length, so an 8 MiB chunk cost two 8 MiB buffers
 * per PUT and the resident set grew past the bound the video uploads are held to.
 *
 * The answer comes back as `HttpAnswer`, like `fetchAnswer`'s; getting no complete answer is
 * handed to the platform's network classifier. A failure to read the file is not a network
 * failure and is thrown as it is.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { MediaInput } from './contract.js';
import type { ConnectorError } from './errors.js';
import type { HttpAnswer } from './http.js';
import { checkFence } from './fence.js';

/** A request body read from somewhere as it is sent; `length` is exactly what it yields. */
export interface StreamBody {
  length: number;
  open(): Promise<AsyncIterable<Buffer>>;
}

/** The bytes `[start, end]` (inclusive) of a media file, read from storage as they are sent. */
export function mediaRange(
  media: Pick<MediaInput, 'open'> & { bytes?: Buffer },
  start: number,
  end: number,
): StreamBody {
  return {
    length: end - start + 1,
    open: async () =>
      media.open ? media.open({ start, end }) : Readable.from([media.bytes!.subarray(start, end + 1)]),
  };
}

/** Several bodies one after another (a multipart form's head, the file, its tail). */
export function concatBodies(...parts: Array<StreamBody | Buffer>): StreamBody {
  const bodies = parts.map((p) => (Buffer.isBuffer(p) ? { length: p.length, open: async () => [p] } : p));
  return {
    length: bodies.reduce((n, b) => n + b.length, 0),
    async open() {
      return (async function* () {
        for (const b of bodies) yield* (await b.open()) as AsyncIterable<Buffer>;
      })();
    },
  };
}

/** Marks an error of the body's source (storage), so it is not taken for the network's. */
class SourceError extends Error {
  constructor(readonly original: unknown) {
    super('reading the body failed');
  }
}

/** Resolves when the request can take more (or has closed). */
function drained(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

function timeoutError(ms: number): Error {
  const err = new Error(`no complete answer within ${ms} ms`);
  err.name = 'TimeoutError';
  return err;
}

/**
 * One request whose body is streamed; the whole exchange (body sent, answer read) must end
 * within `timeoutMs`.
 */
export async function streamAnswer(
  url: URL | string,
  init: { method: string; headers: Headers; body: StreamBody },
  timeoutMs: number,
  networkError: (err: unknown) => ConnectorError,
): Promise<HttpAnswer> {
  // A write for an attempt another worker has taken over never leaves (connectors/fence.ts).
  await checkFence(init.method);
  const u = new URL(url);
  const headers: Record<string, string> = {};
  init.headers.forEach((v, k) => (headers[k] = v));
  headers['content-length'] = String(init.body.length);
  const source = await init.body.open();
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  let res: IncomingMessage;
  let text: string;
  try {
    ({ res, text } = await new Promise<{ res: IncomingMessage; text: string }>((resolve, reject) => {
      const req = send(u, { method: init.method, headers });
      const timer = setTimeout(() => req.destroy(timeoutError(timeoutMs)), timeoutMs);
      const fail = (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      };
      req.on('error', fail);
      req.on('response', (r) => {
        const pieces: Buffer[] = [];
        r.on('data', (p: Buffer) => pieces.push(p));
        r.on('error', fail);
        r.on('end', () => {
          clearTimeout(timer);
          resolve({ res: r, text: Buffer.concat(pieces).toString('utf8') });
        });
      });
      void (async () => {
        let sent = 0;
        try {
          for await (const piece of source) {
            sent += piece.length;
            if (sent > init.body.length) throw new Error(`the body is longer than its ${init.body.length} bytes`);
            // Back-pressure: wait for the socket to drain before reading on.
            if (!req.write(piece)) await drained(req);
            if (req.destroyed) return;
          }
          if (sent !== init.body.length) throw new Error(`the body ended at ${sent} of its ${init.body.length} bytes`);
          req.end();
        } catch (err) {
          // The answer may already be in (a server refusing early); otherwise the source failed.
          req.destroy();
          fail(new SourceError(err));
        }
      })();
    }));
  } catch (err) {
    if (err instanceof SourceError) throw err.original;
    throw networkError(err);
  } finally {
    (source as Partial<Readable>).destroy?.();
  }
  let body: unknown = text === '' ? null : text;
  if (text !== '' && (res.headers['content-type'] ?? '').includes('json')) {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      // left as text
    }
  }
  const status = res.statusCode ?? 0;
  const answerHeaders = new Headers();
  for (const [k, v] of Object.entries(res.headers))
    if (v !== undefined) answerHeaders.set(k, Array.isArray(v) ? v.join(', ') : v);
  return { status, ok: status >= 200 && status < 300, headers: answerHeaders, body, text };
}
