/**
 * Builds the web console (web/ → web/dist) when it is missing or older than its sources, so
 * `npm start` (its `prestart`) serves a current console without slowing `npm install` and
 * without rebuilding on every start. `npm run build:web` always builds.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('../web/', import.meta.url));
const REPO = fileURLToPath(new URL('../', import.meta.url));
const BUILT = path.join(WEB, 'dist', 'index.html');
/** What the built files depend on. */
const SOURCES = [
  path.join(WEB, 'src'),
  path.join(WEB, 'public'),
  path.join(WEB, 'index.html'),
  path.join(WEB, 'vite.config.ts'),
  path.join(REPO, 'package-lock.json'),
];

function newestMtime(p: string): number {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((f) => newestMtime(path.join(p, f))));
}

/** Whether web/dist is missing or older than a source file. */
export function consoleStale(): boolean {
  const built = statSync(BUILT, { throwIfNoEntry: false });
  return !built || Math.max(...SOURCES.map(newestMtime)) > built.mtimeMs;
}

export async function buildConsole(opts: { force?: boolean; quiet?: boolean } = {}): Promise<boolean> {
  if (!opts.force && !consoleStale()) return false;
  // Imported here: a start with an up-to-date console does not load Vite at all.
  const { build } = await import('vite');
  // Always the production build, whatever NODE_ENV says: under vitest it is `test`, and Vite then
  // bundles React's development build (565 KB of JS instead of 307 KB) into what the e2e test serves.
  await build({
    configFile: path.join(WEB, 'vite.config.ts'),
    root: WEB,
    logLevel: opts.quiet ? 'warn' : 'info',
    mode: 'production',
    define: { 'process.env.NODE_ENV': JSON.stringify('production') },
    resolve: { conditions: ['module', 'browser', 'production'] },
    oxc: { jsx: { runtime: 'automatic', development: false } },
  });
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const force = process.argv.includes('--force');
  const built = await buildConsole({ force });
  if (!built) console.log('web console is up to date (web/dist)');
}
