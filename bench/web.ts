/**
 * bench:web — cold load of the web console in headless Chromium over loopback: from navigation
 * to the chat input being usable (the page rendered, the session restored from its stored
 * refresh token, the WebSocket open: "Connected" and Send enabled), and the JavaScript it
 * transferred, gzipped. Baseline: the same cold browser context loading `/health` from the same
 * Herald (a trivial answer through the same server and network path). Each run uses a new
 * browser context, so nothing is cached. Herald runs as `npm start` runs it, on its embedded
 * defaults, with the console built first.
 *
 * Needs /usr/bin/chromium (Debian's `chromium` package). BENCH_RUNS (default 15).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { buildConsole } from '../scripts/build-web.js';
import { startHerald } from '../test/helpers/herald-process.js';
import { freePort, waitFor } from '../test/helpers/processes.js';
import { percentile, printResult, printTable, round } from './lib.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const CHROMIUM = '/usr/bin/chromium';

await buildConsole({ quiet: true });
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-bench-web-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const herald = startHerald({
  PORT: String(port),
  DATA_DIR: dataDir,
  REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
  LOG_LEVEL: 'warn',
  CHILD_START_TIMEOUT_MS: '90000',
});
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});

try {
  await waitFor(
    async () => {
      if (herald.child.exitCode !== null)
        throw new Error(`herald exited during boot:\n${herald.stdout().slice(-2000)}`);
      return (await fetch(`${base}/ready`).catch(() => null))?.status === 200 ? true : undefined;
    },
    120_000,
    'herald to be ready',
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${herald.stdout().slice(-1500)}\n${herald.stderr().slice(-1500)}`);
  });
  const signup = await fetch(`${base}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `bench-${Date.now()}@example.com`, password: 'correct horse battery staple' }),
  });
  if (!signup.ok) throw new Error(`signup answered ${signup.status}: ${await signup.text()}`);
  let { refreshToken } = (await signup.json()) as { refreshToken: string };

  const console_: number[] = [];
  const baseline: number[] = [];
  let jsBytes = 0;
  let jsGzipBytes = 0;
  for (let i = 0; i < RUNS; i++) {
    // The console: a signed-in user opening /chat in a fresh context.
    const context = await browser.newContext();
    await context.addInitScript(
      (token) =>
        (
          globalThis as unknown as {
            localStorage: { setItem(k: string, v: string): void; getItem(k: string): string | null };
          }
        ).localStorage.setItem('herald.refreshToken', token),
      refreshToken,
    );
    const page = await context.newPage();
    const scripts: Array<Promise<Buffer | null>> = [];
    page.on('response', (res) => {
      if (res.request().resourceType() === 'script') scripts.push(res.body().catch(() => null));
    });
    const t0 = performance.now();
    await page.goto(`${base}/chat`);
    await page.getByText('Connected', { exact: true }).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Send' }).isEnabled();
    console_.push(performance.now() - t0);
    const bodies = (await Promise.all(scripts)).filter((b): b is Buffer => b !== null);
    jsBytes = bodies.reduce((n, b) => n + b.length, 0);
    jsGzipBytes = bodies.reduce((n, b) => n + gzipSync(b).length, 0);
    // The page refreshed the session: the token rotated; the next run uses the new one.
    refreshToken =
      (await page.evaluate(() =>
        (
          globalThis as unknown as {
            localStorage: { setItem(k: string, v: string): void; getItem(k: string): string | null };
          }
        ).localStorage.getItem('herald.refreshToken'),
      )) ?? refreshToken;
    await context.close();

    const bare = await browser.newContext();
    const bp = await bare.newPage();
    const b0 = performance.now();
    await bp.goto(`${base}/health`);
    await bp.waitForLoadState('load');
    baseline.push(performance.now() - b0);
    await bare.close();
  }
  console_.sort((a, b) => a - b);
  baseline.sort((a, b) => a - b);
  printTable('web console cold load (ms)', [
    {
      page: 'console /chat → Connected',
      p50_ms: round(percentile(console_, 50), 1),
      p90_ms: round(percentile(console_, 90), 1),
    },
    {
      page: 'baseline: /health',
      p50_ms: round(percentile(baseline, 50), 1),
      p90_ms: round(percentile(baseline, 90), 1),
    },
  ]);
  printTable('JavaScript transferred', [{ js_kb: round(jsBytes / 1024, 1), js_gzip_kb: round(jsGzipBytes / 1024, 1) }]);
  printResult({
    bench: 'web',
    runs: RUNS,
    interactive_ms: round(percentile(console_, 50), 1),
    baseline_ms: round(percentile(baseline, 50), 1),
    ratio: round(percentile(console_, 50) / percentile(baseline, 50), 2),
    js_gzip_kb: round(jsGzipBytes / 1024, 1),
  });
} finally {
  await browser.close();
  herald.child.kill('SIGTERM');
  await herald.exited;
  await rm(dataDir, { recursive: true, force: true });
}
