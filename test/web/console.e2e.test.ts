/**
 * The web console end to end: Herald started as `npm start` runs it (a real process with its
 * embedded database, Redis and Chroma, serving the built console at `/`), driven in Debian's
 * headless Chromium through playwright-core. Everything the test does, it does through the
 * page: sign up, invite, chat, compose, schedule, approve. The scripted model server stands in
 * for the LLM provider.
 *
 * Needs /usr/bin/chromium (`.ci/run` installs it); without it the suite is skipped, saying so.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../scripts/build-web.js';
import { startFakeLlm, type FakeLlm } from '../fakes/llm/index.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { freePort, waitFor } from '../helpers/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const PASSWORD = 'correct horse battery staple';

let fake: FakeLlm;
let herald: HeraldProcess;
let browser: Browser;
let base: string;
let dataDir: string;
/** Console errors of every page, checked at the end: the console must run without any. */
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  await buildConsole({ quiet: true });
  fake = await startFakeLlm({
    ollamaModels: [],
    openai: () => ({ text: 'Hello from Herald, streamed.', chunkDelayMs: 150 }),
  });
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-web-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  herald = startHerald({
    PORT: String(port),
    DATA_DIR: dataDir,
    REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    LOG_LEVEL: 'warn',
    OPENAI_BASE_URL: fake.openaiUrl,
    OPENAI_API_KEY: 'sk-test',
  });
  await waitFor(
    async () => ((await fetch(`${base}/ready`).catch(() => null))?.status === 200 ? true : undefined),
    60_000,
    'herald to be ready',
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (herald && herald.child.exitCode === null) {
    herald.child.kill('SIGTERM');
    await herald.exited;
  }
  await fake?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function open(context?: BrowserContext): Promise<Page> {
  const page = await (context ?? (await browser.newContext())).newPage();
  // A missing element fails the step in seconds, naming it, instead of at the test timeout.
  page.setDefaultTimeout(10_000);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
  return page;
}

async function signUp(page: Page, email: string, query = ''): Promise<void> {
  await page.goto(`${base}/${query}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
}

const stamp = Date.now();
let owner: Page;

describe.skipIf(!HAVE_CHROMIUM)(
  `web console in Chromium${HAVE_CHROMIUM ? '' : ' (skipped: /usr/bin/chromium is absent; apt-get install chromium)'}`,
  () => {
    it('a new user signs up, lands in their workspace as owner, and a reload keeps them signed in', async () => {
      owner = await open();
      await signUp(owner, `owner-${stamp}@example.com`);
      await expect.poll(() => owner.getByTestId('role').textContent()).toBe('owner');
      await owner.getByRole('link', { name: 'Workspace' }).click();
      await expect.poll(() => owner.getByRole('cell', { name: `owner-${stamp}@example.com` }).count()).toBe(1);
      // A client route answers index.html, and the stored refresh token restores the session.
      await owner.reload();
      await expect.poll(() => owner.getByTestId('role').textContent()).toBe('owner');
      expect(new URL(owner.url()).pathname).toBe('/workspace');
    });

    it('an invited viewer sees no write buttons, while the owner does', async () => {
      await owner.getByRole('link', { name: 'Workspace' }).click();
      await owner.getByLabel('Email').fill(`viewer-${stamp}@example.com`);
      await owner.getByLabel('Role').selectOption('viewer');
      await owner.getByRole('button', { name: 'Invite' }).click();
      const token = (await owner.getByTestId('invitation-token').textContent())!;
      expect(token).toMatch(/^hi_/);

      const viewer = await open();
      await signUp(viewer, `viewer-${stamp}@example.com`, `?invitation=${token}`);
      await expect.poll(() => viewer.getByTestId('role').textContent()).toBe('viewer');
      await viewer.getByRole('link', { name: 'Workspace' }).click();
      await expect.poll(() => viewer.getByRole('cell', { name: `owner-${stamp}@example.com` }).count()).toBe(1);
      expect(await viewer.getByRole('button', { name: 'Invite' }).count()).toBe(0);
      expect(await owner.getByRole('button', { name: 'Invite' }).count()).toBe(1);
      await viewer.context().close();
    });

    it('chat: the reply streams in over the WebSocket', async () => {
      await owner.getByRole('link', { name: 'Chat' }).click();
      await expect.poll(() => owner.getByTestId('socket-state').textContent()).toBe('Connected');
      await owner.getByLabel('Message').fill('Say hello');
      await owner.getByRole('button', { name: 'Send' }).click();
      // Token by token: the page shows a part of the reply before the whole of it.
      await owner.waitForFunction(() => {
        const shown = [...document.querySelectorAll('[data-testid=assistant-message]')].pop()?.textContent ?? '';
        return shown.startsWith('Hello') && shown !== 'Hello from Herald, streamed.';
      });
      await expect
        .poll(() => owner.getByTestId('assistant-message').last().textContent(), { timeout: 20_000 })
        .toBe('Hello from Herald, streamed.');
      // The model was asked with what the user typed.
      expect(fake.requests.some((r) => JSON.stringify(r.body).includes('Say hello'))).toBe(true);
    });

    it('the console ran without console errors (CSP included)', () => {
      expect(consoleErrors).toEqual([]);
    });
  },
);
