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
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../scripts/build-web.js';
import { startMastodonFake, type MastodonFake } from '../../connectors/mastodon/fake.js';
import { startFakeLlm, type FakeChatRequest, type FakeLlm, type FakeReply } from '../fakes/llm/index.js';
import { startHerald, type HeraldProcess } from '../helpers/herald-process.js';
import { startFakeSpeech, type FakeSpeech } from '../fakes/speech.js';
import { quiet, speech } from '../fakes/speech-audio.js';
import { encodeWav } from '../../voice/index.js';
import { freePort, waitFor } from '../helpers/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const PASSWORD = 'correct horse battery staple';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** axe-core's browser build, injected into each page for the accessibility check. */
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
/** Where the screenshot of each page goes, for review (not checked in). */
const SCREENSHOTS = path.resolve('test-results/console');

let fake: FakeLlm;
let mastodon: MastodonFake;
/** Speech-to-text for the voice session: what the browser's fake microphone says. */
let stt: FakeSpeech;
let herald: HeraldProcess;
let browser: Browser;
let base: string;
let dataDir: string;
/** Console errors of every page, checked at the end: the console must run without any. */
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return;
  await buildConsole({ quiet: true });
  fake = await startFakeLlm({ ollamaModels: [], openai: script });
  mastodon = await startMastodonFake();
  stt = await startFakeSpeech({ transcribe: ['Say hello'], fallback: '' });
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
    MASTODON_REDIRECT_URI: `${base}/v1/social-accounts/callback`,
    CONNECT_DONE_URL: `${base}/accounts`,
    VOICE_STT: 'openai',
    VOICE_STT_URL: stt.openaiUrl,
    VOICE_TTS: 'espeak',
    // The ready wait below allows 90 s; Chroma's own start gets most of it on a loaded machine.
    CHILD_START_TIMEOUT_MS: '80000',
  });
  // Chroma's start dominates; on a loaded 2-core machine it can take a minute (as in test/server/boot.test.ts).
  // A Herald that exits during boot fails the suite at once, not after the whole wait.
  const exitedEarly = herald.exited.then(({ code, signal }) => {
    throw new Error(`herald exited during boot (code ${code}, signal ${signal})`);
  });
  exitedEarly.catch(() => undefined);
  await Promise.race([
    waitFor(
      async () => ((await fetch(`${base}/ready`).catch(() => null))?.status === 200 ? true : undefined),
      90_000,
      'herald to be ready',
    ),
    exitedEarly,
  ]).catch((err: Error) => {
    throw new Error(
      `${err.message}\nherald stderr:\n${herald.stderr().slice(-2000)}\nstdout:\n${herald.stdout().slice(-2000)}`,
    );
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  if (herald && herald.child.exitCode === null) {
    herald.child.kill('SIGTERM');
    await herald.exited;
  }
  await fake?.close();
  await mastodon?.close();
  await stt?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function open(context?: BrowserContext): Promise<Page> {
  const page = await (context ?? (await browser.newContext())).newPage();
  // A missing element fails the step in seconds, naming it, instead of at the test timeout.
  page.setDefaultTimeout(10_000);
  page.on('console', (m) => {
    // Chromium logs every 4xx answer; the test provokes one 422 on purpose (the composer's validation).
    if (m.type() === 'error' && !m.text().includes('status of 422')) consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
  return page;
}

async function logIn(page: Page, email: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect.poll(() => page.getByTestId('role').textContent()).not.toBeNull();
}

async function signUp(page: Page, email: string, query = ''): Promise<void> {
  await page.goto(`${base}/${query}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
}

/**
 * The scripted model: asked to schedule, it calls `schedule_post` (which waits for the user's
 * confirmation), then answers once the tool's result is in; anything else gets a slow-streamed hello.
 */
function script(req: FakeChatRequest): FakeReply {
  if (!req.lastUserText.includes('launch')) return { text: 'Hello from Herald, streamed.', chunkDelayMs: 150 };
  const toolDone = ((req.body.messages ?? []) as Array<{ role?: string }>).some((m) => m.role === 'tool');
  return toolDone
    ? { text: 'Scheduled for tomorrow at 9.' }
    : {
        toolCalls: [
          { name: 'schedule_post', args: { text: 'Our launch is live', accounts: ['mastodon'], at: 'tomorrow at 9' } },
        ],
      };
}

const stamp = Date.now();
let owner: Page;
let viewer: Page;
/** Whether the post scheduled for tomorrow falls in this week (else the calendar must turn). */
let tomorrowThisWeek = true;
/** Tomorrow's date (YYYY-MM-DD) in the browser's zone. */
let tomorrow = '';
/** The fake Mastodon account connected in the console. */
let adaId = '';

describe.skipIf(!HAVE_CHROMIUM)(
  `web console in Chromium${HAVE_CHROMIUM ? '' : ' (skipped: /usr/bin/chromium is absent; apt-get install chromium)'}`,
  () => {
    it('/ serves the console without shadowing the API, the probes or the docs', async () => {
      const index = await fetch(`${base}/`);
      expect(index.headers.get('content-type')).toMatch(/^text\/html/);
      expect(index.headers.get('cache-control')).toBe('no-cache');
      expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
      const asset = (await index.text()).match(/src="(\/assets\/[^"]+\.js)"/)![1]!;
      expect((await fetch(`${base}${asset}`)).headers.get('cache-control')).toContain('immutable');
      // A client route is the app; an unknown path is still the API's JSON 404.
      expect((await fetch(`${base}/posts`)).headers.get('content-type')).toMatch(/^text\/html/);
      for (const path of ['/nope', '/v1/nope']) {
        const res = await fetch(`${base}${path}`);
        expect(res.status).toBe(404);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
      }
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect((await fetch(`${base}/docs/json`)).status).toBe(200);
      expect((await fetch(`${base}/v1/workspace`)).status).toBe(401);
    });

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

      viewer = await open();
      await signUp(viewer, `viewer-${stamp}@example.com`, `?invitation=${token}`);
      await expect.poll(() => viewer.getByTestId('role').textContent()).toBe('viewer');
      await viewer.getByRole('link', { name: 'Workspace' }).click();
      await expect.poll(() => viewer.getByRole('cell', { name: `owner-${stamp}@example.com` }).count()).toBe(1);
      expect(await viewer.getByRole('button', { name: 'Invite' }).count()).toBe(0);
      expect(await owner.getByRole('button', { name: 'Invite' }).count()).toBe(1);
    });

    it('chat: the reply streams in over the WebSocket', async () => {
      await owner.getByRole('link', { name: 'Chat' }).click();
      await expect.poll(() => owner.getByTestId('socket-state').textContent()).toBe('Connected');
      await owner.getByLabel('Message').fill('Say hello');
      await owner.getByRole('button', { name: 'Send' }).click();
      // Token by token: the page shows a part of the reply before the whole of it.
      // Runs in the page (this file is compiled without the DOM library, hence the cast).
      await owner.waitForFunction(() => {
        type Doc = { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> };
        const all = Array.from(
          (globalThis as unknown as { document: Doc }).document.querySelectorAll('[data-testid=assistant-message]'),
        );
        const shown = all[all.length - 1]?.textContent ?? '';
        return shown.startsWith('Hello') && shown !== 'Hello from Herald, streamed.';
      });
      await expect
        .poll(() => owner.getByTestId('assistant-message').last().textContent(), { timeout: 20_000 })
        .toBe('Hello from Herald, streamed.');
      // The model was asked with what the user typed.
      expect(fake.requests.some((r) => JSON.stringify(r.body).includes('Say hello'))).toBe(true);
    });

    it('chat: a connection dropped mid-reply reconnects and resumes, losing and repeating nothing', async () => {
      let dropped = false;
      // Between page and server: the first socket is cut right after the reply's first token.
      await owner.routeWebSocket(/\/v1\/ws$/, (ws) => {
        const server = ws.connectToServer();
        server.onMessage((m) => {
          ws.send(m);
          if (!dropped && typeof m === 'string' && m.includes('"type":"token"')) {
            dropped = true;
            void ws.close({ code: 4000, reason: 'test drop' });
            void server.close();
          }
        });
      });
      await owner.getByRole('link', { name: 'Workspace' }).click();
      await owner.getByRole('link', { name: 'Chat' }).click();
      await expect.poll(() => owner.getByTestId('socket-state').textContent()).toBe('Connected');
      await owner.getByLabel('Message').fill('Say hello again');
      await owner.getByRole('button', { name: 'Send' }).click();
      await expect.poll(() => dropped).toBe(true);
      await expect
        .poll(() => owner.getByTestId('assistant-message').last().textContent(), { timeout: 20_000 })
        .toBe('Hello from Herald, streamed.');
      await owner.unrouteAll();
    });

    it('accounts: connecting Mastodon goes through its authorize page and back to the console', async () => {
      const ada = mastodon.createAccount({ username: 'ada' });
      adaId = ada.accountId;
      // The fake's authorize page signs in whoever this header names (a person would log in there).
      await owner.context().setExtraHTTPHeaders({ 'x-fake-account': ada.accountId });
      await owner.getByRole('link', { name: 'Accounts' }).click();
      await owner.getByLabel('mastodon server').fill(mastodon.url);
      await owner.getByRole('button', { name: 'Connect mastodon' }).click();
      await expect.poll(() => owner.getByRole('status').textContent()).toBe('Connected a mastodon account.');
      await expect.poll(() => owner.getByTestId('account-handle').allTextContents()).toEqual(['ada']);
    });

    it("posts: the API's validation errors show in the composer; a scheduled post shows in the week", async () => {
      await owner.getByRole('link', { name: 'Posts' }).click();
      // Tomorrow at 10:00 in the browser's zone, which is the user's (sent at sign-up).
      const { at, sameWeek } = await owner.evaluate(() => {
        const pad = (n: number) => String(n).padStart(2, '0');
        const now = new Date();
        const t = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 10, 0);
        const monday = (d: Date) =>
          new Date(d.getFullYear(), d.getMonth(), d.getDate() - ((d.getDay() + 6) % 7)).getTime();
        return {
          at: `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T10:00`,
          sameWeek: monday(now) === monday(t),
        };
      });
      await owner.getByRole('checkbox', { name: 'mastodon · ada' }).check();
      await owner.getByLabel('When (your time zone)').fill(at);
      // Mastodon counts 500 characters: the server's own rule refuses 600.
      await owner.getByLabel('Text', { exact: true }).fill('x'.repeat(600));
      await owner.getByRole('button', { name: 'Schedule' }).click();
      const alert = owner.getByRole('alert');
      await expect.poll(() => alert.textContent()).toContain('target_invalid');
      await owner.getByLabel('Text', { exact: true }).fill('Launch day is tomorrow');
      await owner.getByRole('button', { name: 'Schedule' }).click();
      await expect.poll(() => owner.getByRole('status').textContent()).toBe('Scheduled.');
      tomorrowThisWeek = sameWeek;
      tomorrow = at.slice(0, 10);
      if (!sameWeek) await owner.getByRole('button', { name: 'Next week' }).click();
      const item = owner.locator(`[data-day="${at.slice(0, 10)}"] [data-testid=calendar-item]`);
      await expect.poll(() => item.textContent()).toContain('10:00 · mastodon · scheduled');
    });

    it('chat: a confirm_request is a card; approving it schedules the post, which shows in the calendar', async () => {
      await owner.getByRole('link', { name: 'Chat' }).click();
      await expect.poll(() => owner.getByTestId('socket-state').textContent()).toBe('Connected');
      await owner.getByLabel('Message').fill('Schedule our launch on mastodon tomorrow at 9');
      await owner.getByRole('button', { name: 'Send' }).click();
      const card = owner.getByRole('group', { name: 'Confirmation' });
      await expect.poll(() => card.textContent(), { timeout: 20_000 }).toContain('Our launch is live');
      await card.getByRole('button', { name: 'Approve' }).click();
      await expect.poll(() => owner.getByTestId('confirm-outcome').textContent()).toBe('confirmed');
      await expect
        .poll(() => owner.getByTestId('assistant-message').last().textContent(), { timeout: 20_000 })
        .toBe('Scheduled for tomorrow at 9.');
      await owner.getByRole('link', { name: 'Posts' }).click();
      if (!tomorrowThisWeek) await owner.getByRole('button', { name: 'Next week' }).click();
      const items = owner.locator(`[data-testid=calendar-item]`, { hasText: 'Our launch is live' });
      await expect.poll(() => items.textContent()).toContain('09:00 · mastodon · scheduled');
    });

    it('posts: Publish now goes out through the worker to Mastodon and the week shows it published', async () => {
      await owner.getByRole('link', { name: 'Posts' }).click();
      await owner.getByRole('button', { name: 'This week' }).click();
      await owner.getByRole('checkbox', { name: 'mastodon · ada' }).check();
      await owner.getByLabel('Text', { exact: true }).fill('Live right now');
      await owner.getByRole('button', { name: 'Publish now' }).click();
      const item = owner.getByTestId('calendar-item').filter({ hasText: 'Live right now' });
      await expect.poll(() => item.textContent(), { timeout: 20_000 }).toContain('mastodon · published');
      expect(mastodon.statuses(adaId).map((st) => st.text)).toContain('Live right now');
    });

    it('links: a tracked link made on the Links page redirects with its UTM, and the click shows there', async () => {
      await owner.getByRole('link', { name: 'Links' }).click();
      await owner.getByLabel('Destination').fill('https://shop.example/kettle');
      await owner.getByLabel('utm_source').fill('console');
      await owner.getByRole('button', { name: 'Make link' }).click();
      const row = owner.getByTestId('links-table').locator('tbody tr').first();
      await expect.poll(() => row.textContent()).toContain('https://shop.example/kettle');
      const code = (await row.locator('code').textContent())!.split('/l/')[1]!;
      const res = await fetch(`${base}/l/${code}`, {
        redirect: 'manual',
        headers: {
          'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0',
        },
      });
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('https://shop.example/kettle?utm_source=console');
      // The click is drained from Redis into the database by the worker side of `npm start`.
      await expect
        .poll(
          async () => {
            await owner.getByRole('button', { name: 'Clicks' }).first().click();
            return owner.getByTestId('link-stats').textContent();
          },
          { timeout: 20_000 },
        )
        .toContain('1 clicks, 1 unique, 0 by bots');
    });

    it('analytics: the published post counts in the overview, and its account shows its best hours', async () => {
      await owner.getByRole('link', { name: 'Analytics' }).click();
      const posts = owner.getByTestId('overview-posts');
      await expect.poll(() => posts.locator('td').first().textContent()).toBe('1');
      // Mastodon reports no impressions: the page says so instead of showing a zero.
      await expect.poll(() => owner.getByTestId('overview-impressions').textContent()).toContain('not reported');
      await expect.poll(() => owner.getByTestId('best-times').textContent()).toContain('based on 0 posts; weak');
    });

    it('accounts: posting slots suggested from the best hours are saved with one click', async () => {
      await owner.getByRole('link', { name: 'Accounts' }).click();
      await expect.poll(() => owner.getByTestId('slots').textContent()).toContain('Posting slots: none');
      await owner.getByLabel('Slots a week').fill('3');
      await owner.getByRole('button', { name: 'Suggest from best hours' }).click();
      await expect.poll(() => owner.getByTestId('suggested-slots').textContent()).toContain('general pattern');
      await owner.getByRole('button', { name: 'Use these slots' }).click();
      await expect
        .poll(() => owner.getByTestId('slots').textContent())
        .toMatch(/^Posting slots: (\w{3} \d\d:00, ){2}\w{3} \d\d:00/);
    });

    it('knowledge: a note and an uploaded file are read in and found by search', async () => {
      await owner.getByRole('link', { name: 'Knowledge' }).click();
      const add = owner.getByRole('form', { name: 'Add to knowledge' });
      await add.getByLabel('Title').fill('Brand voice');
      await add.getByLabel('Content (Markdown)').fill('# Voice\n\nWarm, plain and never shouty about pottery kilns.');
      await add.getByRole('button', { name: 'Add' }).click();
      await expect.poll(() => owner.getByRole('status').textContent()).toContain('Added "Brand voice"');
      await add.getByLabel('What').selectOption('file');
      await add.getByLabel('File', { exact: true }).setInputFiles({
        name: 'glazes.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('Celadon glaze fires at cone 10 in a reduction atmosphere.'),
      });
      await add.getByRole('button', { name: 'Add' }).click();
      // Seed knowledge and past posts are listed too: look at these two rows.
      for (const title of ['Brand voice', 'glazes.txt']) {
        const row = owner.getByTestId('knowledge-source').filter({ hasText: title });
        await expect
          .poll(() => row.getByTestId('knowledge-status').textContent(), { timeout: 30_000 })
          .toMatch(/^ready/);
      }
      await owner.getByLabel('Search knowledge').fill('celadon glaze');
      await owner.getByRole('button', { name: 'Search' }).click();
      await expect.poll(() => owner.getByTestId('knowledge-hits').textContent()).toContain('cone 10');
    }, 60_000);

    it("approvals: with approval required, an editor's post waits in the queue until the owner approves it", async () => {
      await owner.getByRole('link', { name: 'Settings' }).click();
      await owner.getByRole('checkbox', { name: /wait for an admin/ }).check();
      await owner.getByRole('button', { name: 'Save settings' }).click();
      await expect.poll(() => owner.getByRole('status').textContent()).toBe('Saved.');

      await owner.getByRole('link', { name: 'Workspace' }).click();
      await owner.getByLabel('Email').fill(`editor-${stamp}@example.com`);
      await owner.getByLabel('Role').selectOption('editor');
      await owner.getByRole('button', { name: 'Invite' }).click();
      const token = (await owner.getByTestId('invitation-token').textContent())!;
      const editor = await open();
      await signUp(editor, `editor-${stamp}@example.com`, `?invitation=${token}`);
      await expect.poll(() => editor.getByTestId('role').textContent()).toBe('editor');
      await editor.getByRole('link', { name: 'Posts' }).click();
      await editor.getByRole('checkbox', { name: 'mastodon · ada' }).check();
      await editor.getByLabel('Text', { exact: true }).fill('Needs a review');
      await editor.getByLabel('When (your time zone)').fill(`${tomorrow}T11:00`);
      await editor.getByRole('button', { name: 'Schedule' }).click();
      await expect.poll(() => editor.getByRole('status').textContent()).toBe('Submitted for approval.');
      // An editor may not approve: no button, though the post is in the queue.
      await expect.poll(() => editor.getByTestId('approval').count()).toBe(1);
      expect(await editor.getByRole('button', { name: 'Approve' }).count()).toBe(0);
      await editor.context().close();

      await owner.getByRole('link', { name: 'Posts' }).click();
      const waiting = owner.getByTestId('approval').filter({ hasText: 'Needs a review' });
      await waiting.getByRole('button', { name: 'Approve' }).click();
      await expect.poll(() => owner.getByTestId('approval').count()).toBe(0);
      if (!tomorrowThisWeek) await owner.getByRole('button', { name: 'Next week' }).click();
      const item = owner.getByTestId('calendar-item').filter({ hasText: 'Needs a review' });
      await expect.poll(() => item.textContent()).toContain('11:00 · mastodon · scheduled');
    });

    it('a viewer sees no composer, no Connect and no Approve', async () => {
      await viewer.getByRole('link', { name: 'Posts' }).click();
      // The owner's post is in the viewer's calendar too: the page has loaded its data.
      if (!tomorrowThisWeek) await viewer.getByRole('button', { name: 'Next week' }).click();
      await expect.poll(() => viewer.getByTestId('calendar-item').count()).toBeGreaterThan(0);
      await viewer.getByRole('heading', { name: 'Waiting for approval' }).waitFor();
      for (const name of ['Schedule', 'Save draft', 'Publish now', 'Approve']) {
        expect(await viewer.getByRole('button', { name }).count()).toBe(0);
      }
      await viewer.getByRole('link', { name: 'Accounts' }).click();
      await viewer.getByRole('heading', { name: 'Connected accounts' }).waitFor();
      expect(await viewer.getByRole('button', { name: /^Connect|Disconnect|Suggest from best hours/ }).count()).toBe(0);
      await viewer.getByRole('link', { name: 'Knowledge' }).click();
      await viewer.getByRole('heading', { name: 'Sources' }).waitFor();
      expect(await viewer.getByRole('form', { name: 'Add to knowledge' }).count()).toBe(0);
      expect(await viewer.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    });

    it('voice: the microphone reaches Herald, the transcript shows, and the answer is written and spoken', async () => {
      // A second Chromium whose microphone plays espeak's "Say hello", then a long quiet.
      const wav = path.join(dataDir, 'mic.wav');
      await writeFile(
        wav,
        encodeWav({ sampleRate: 16_000, data: Buffer.concat([quiet(500), await speech('Say hello'), quiet(40_000)]) }),
      );
      const voiceBrowser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          ...CHROMIUM_ARGS,
          '--use-fake-ui-for-media-stream',
          '--use-fake-device-for-media-stream',
          `--use-file-for-fake-audio-capture=${wav}`,
          '--autoplay-policy=no-user-gesture-required',
        ],
      });
      try {
        const page = await open(await voiceBrowser.newContext());
        await logIn(page, `owner-${stamp}@example.com`);
        await page.getByRole('link', { name: 'Chat' }).click();
        await expect.poll(() => page.getByTestId('socket-state').textContent()).toBe('Connected');
        await page.getByRole('button', { name: 'Talk' }).click();
        await expect
          .poll(() => page.getByTestId('voice-transcript').textContent(), { timeout: 20_000 })
          .toBe('Say hello');
        await expect
          .poll(() => page.getByTestId('assistant-message').last().textContent(), { timeout: 20_000 })
          .toBe('Hello from Herald, streamed.');
        // Herald's speech arrived as binary frames and was scheduled for playback.
        await expect
          .poll(async () => Number(await page.getByTestId('voice-state').getAttribute('data-played-ms')), {
            timeout: 20_000,
          })
          .toBeGreaterThan(500);
        expect(stt.transcriptions.length).toBeGreaterThanOrEqual(1);
        await page.getByRole('button', { name: 'Stop talking' }).click();
        await expect.poll(() => page.getByTestId('voice-state').count()).toBe(0);
      } finally {
        await voiceBrowser.close();
      }
    }, 90_000);

    it('settings: the daily cost cap is saved, and usage shows the model calls the chats made', async () => {
      await owner.getByRole('link', { name: 'Settings' }).click();
      const form = owner.getByRole('form', { name: 'Model policy' });
      await form.getByLabel(/Daily cost cap/).fill('2.5');
      await form.getByRole('button', { name: 'Save model policy' }).click();
      await expect.poll(() => owner.getByText('Model policy saved.').count()).toBe(1);
      // Read back from the server: a reload shows what GET /v1/workspace holds.
      await owner.reload();
      await expect.poll(() => owner.getByLabel(/Daily cost cap/).inputValue()).toBe('2.5');
      await expect.poll(() => owner.getByTestId('models').textContent()).toContain('openai');
      const openaiRow = owner.getByTestId('usage').getByRole('row', { name: /^openai/ });
      await expect.poll(async () => Number(await openaiRow.getByRole('cell').nth(1).textContent())).toBeGreaterThan(0);
    });

    it('every page passes axe-core with no serious or critical violation; a screenshot of each is saved', async () => {
      // axe is injected as a script, which the console's CSP forbids: this context bypasses CSP for it.
      const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 900 } });
      const page = await open(context);
      await logIn(page, `owner-${stamp}@example.com`);
      await mkdir(SCREENSHOTS, { recursive: true });
      const nav = page.getByRole('navigation', { name: 'Pages' }).getByRole('link');
      const labels = await nav.allTextContents();
      expect(labels.length).toBeGreaterThan(5);
      const found: string[] = [];
      for (const label of labels) {
        await nav.filter({ hasText: label }).click();
        await page.locator('h1').first().waitFor();
        await page.waitForLoadState('networkidle').catch(() => undefined);
        await page.addScriptTag({ path: AXE });
        const violations = await page.evaluate(async () => {
          const axe = (
            globalThis as unknown as {
              axe: {
                run(): Promise<{
                  violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
                }>;
              };
            }
          ).axe;
          const result = await axe.run();
          return result.violations
            .filter((v) => v.impact === 'serious' || v.impact === 'critical')
            .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
        });
        found.push(...violations.map((v) => `${label}: ${v}`));
        await page.screenshot({ path: path.join(SCREENSHOTS, `${label.toLowerCase()}.png`), fullPage: true });
      }
      await context.close();
      expect(found).toEqual([]);
    }, 90_000);

    it('the console ran without console errors (CSP included)', () => {
      expect(consoleErrors).toEqual([]);
    });
  },
);
