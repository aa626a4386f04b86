/**
 * Serves the web console (web/, built by Vite into web/dist) at `/`. Each built file gets its
 * own route (no wildcard), so `/v1`, `/docs`, `/health`, `/ready` and `/metrics` keep their
 * handlers and unknown paths keep the API's 404. The console's own pages (`/chat`, `/posts`,
 * ...) answer index.html so a reload or a shared link opens them. Hashed assets are cached for
 * a year; index.html is revalidated on every load so a new build shows at once.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where `npm run build:web` writes the console. */
export const WEB_CONSOLE_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

/** Client-side routes of the console (web/src/App.tsx's NAV): each answers index.html. */
export const CONSOLE_PAGES = [
  'workspace',
  'chat',
  'posts',
  'accounts',
  'analytics',
  'coach',
  'trends',
  'knowledge',
  'campaigns',
  'links',
  'settings',
] as const;

export interface WebConsoleOptions {
  /** The built console (holding index.html). */
  root: string;
}

/** Whether a built console is at `root`. */
export const consoleBuilt = (root: string): boolean => existsSync(path.join(root, 'index.html'));

export async function webConsolePlugin(app: FastifyInstance, opts: WebConsoleOptions): Promise<void> {
  if (!consoleBuilt(opts.root)) {
    app.log.warn({ root: opts.root }, 'web console not built (npm run build:web): / is not served');
    return;
  }
  await app.register(fastifyStatic, {
    root: opts.root,
    prefix: '/',
    wildcard: false,
    index: 'index.html',
    // Swagger UI registers its own copy of the plugin; only this one decorates the reply.
    decorateReply: true,
    setHeaders(reply, file) {
      reply.header(
        'cache-control',
        file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
  for (const page of CONSOLE_PAGES) {
    app.get(`/${page}`, { schema: { hide: true } }, (_req, reply) => reply.sendFile('index.html'));
  }
}
