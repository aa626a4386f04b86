/**
 * Chroma's lifecycle. With CHROMA_URL set, Herald only connects. Without it, Herald starts
 * the Chroma server that ships in the `chromadb` package (its CLI runs the Rust server through
 * native bindings) on a free loopback port, with its files under `DATA_DIR/chroma`, waits
 * until the heartbeat answers and stops it on exit.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import getPort from 'get-port';
import { ChromaClient } from 'chromadb';
import { HeraldError, retryAtStartup, startManagedChild, type Logger, type ManagedChild } from '../core/index.js';

export interface ChromaOptions {
  /** Connect to this server instead of starting one. */
  url: string | undefined;
  dataDir: string;
  startTimeoutMs: number;
  logger: Logger;
  /** With `url`: wait this long for its heartbeat before start-up fails (`STARTUP_RETRY_MS`). Unset: no check. */
  retryForMs?: number;
}

export interface ChromaHandle {
  url: string;
  client: ChromaClient;
  child: ManagedChild | undefined;
  /** Heartbeat with a deadline; throws `chroma_unavailable`. */
  ping(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

function chromaCliPath(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its client; the CLI sits next to it in dist/.
  return path.join(path.dirname(require.resolve('chromadb')), '..', 'cli.mjs');
}

function clientFor(url: string): ChromaClient {
  const u = new URL(url);
  return new ChromaClient({
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
    ssl: u.protocol === 'https:',
  });
}

async function heartbeat(url: string, timeoutMs: number): Promise<void> {
  try {
    const res = await fetch(new URL('/api/v2/heartbeat', url), { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`heartbeat answered ${res.status}`);
  } catch (cause) {
    throw new HeraldError('chroma_unavailable', {
      message: `Chroma at ${new URL(url).host} is not answering: ${(cause as Error).message}`,
      cause,
    });
  }
}

export async function startChroma(opts: ChromaOptions): Promise<ChromaHandle> {
  if (opts.url) {
    const url = opts.url;
    if (opts.retryForMs !== undefined) {
      const forMs = opts.retryForMs;
      await retryAtStartup({ service: 'Chroma', target: new URL(url).host, forMs, logger: opts.logger }, () =>
        heartbeat(url, 2_000),
      ).catch((err: HeraldError) => {
        throw new HeraldError('chroma_unavailable', {
          message: `${err.message}${forMs > 0 ? ` (retried for ${forMs} ms; raise STARTUP_RETRY_MS to wait longer)` : ''}`,
          cause: err.cause,
        });
      });
    }
    return {
      url,
      client: clientFor(url),
      child: undefined,
      ping: (t = 1_000) => heartbeat(url, t),
      stop: async () => undefined,
    };
  }

  const port = await getPort({ host: '127.0.0.1' });
  const dir = path.join(opts.dataDir, 'chroma');
  const child = await startManagedChild({
    name: 'chroma',
    command: process.execPath,
    args: [chromaCliPath(), 'run', '--path', dir, '--host', '127.0.0.1', '--port', String(port)],
    identifyBy: 'cli.mjs run --path',
    pidFile: path.join(opts.dataDir, 'chroma.pid'),
    logger: opts.logger,
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + opts.startTimeoutMs;
  let exit: { code: number | null } | undefined;
  void child.exited.then((e) => (exit = e));
  let lastError: unknown;
  while (!exit && Date.now() < deadline) {
    try {
      await heartbeat(url, 500);
      opts.logger.info({ url, dir }, 'started embedded chroma');
      return { url, client: clientFor(url), child, ping: (t = 1_000) => heartbeat(url, t), stop: () => child.stop() };
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await child.stop();
  throw new HeraldError('chroma_unavailable', {
    message: exit
      ? `The embedded Chroma server exited (code ${exit.code}) before answering. Run with LOG_LEVEL=debug to see its output, or set CHROMA_URL to a running Chroma.`
      : `The embedded Chroma server did not answer within ${opts.startTimeoutMs} ms. Set CHROMA_URL to a running Chroma, or raise CHILD_START_TIMEOUT_MS.`,
    cause: lastError,
  });
}
