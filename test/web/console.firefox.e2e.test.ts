/**
 * The web console in Firefox: the path a new user takes, end to end, in Debian's Firefox ESR
 * driven through WebDriver BiDi by puppeteer-core (Playwright's own Firefox is a patched build
 * that cannot be downloaded here, and its BiDi mode needs commands ESR does not have yet).
 * Herald runs as `npm start` runs it; the scripted model server stands in for the LLM provider
 * and the Mastodon fake for the platform. Sign up, the reply streaming in, connecting Mastodon
 * through its authorize page, a confirmation card approved from chat, the post in the calendar,
 * a post published by the worker turning "published" live; no console errors, and axe-core
 * finds no serious violation on the pages visited. (Voice is checked in Chromium, whose fake
 * microphone can play a speech file; Firefox's fake microphone only plays a tone.)
 *
 * Needs /usr/bin/firefox-esr (`.ci/run` installs it); without it the suite is skipped, saying so.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole } from '../../scripts/build-web.js';
import { startMastodonFake, type MastodonFake } from '../../connectors/mastodon/fake.js';
import { startFakeLlm, type FakeChatRequest, type FakeLlm, type FakeReply } from '../fakes/llm/index.js';
import { startHerald, waitForHeraldReady, type HeraldProcess } from '../helpers/herald-process.js';
import { freePort, waitFor } from '../helpers/processes.js';

const FIREFOX = '/usr/bin/firefox-esr';
const HAVE_FIREFOX = existsSync(FIREFOX);
const PASSWORD = 'correct horse battery staple';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let axeSource = '';
const SCREENSHOTS = path.resolve('test-results/console-firefox');
/** Steps wait this long for what they expect before failing, naming it. */
const STEP_MS = 20_000;

let fake: FakeLlm;
let mastodon: MastodonFake;
let herald: HeraldProcess;
let browser: Browser;
let page: Page;
let base: string;
let dataDir: string;
const consoleErrors: string[] = [];

/** Scripted model: "launch" → `schedule_post` (confirmed by the user), then a closing line; else a streamed hello. */
function script(req: FakeChatRequest): FakeReply {
  if (req.lastUserText.startsWith('FACTS:')) return { text: 'Good morning from your coach.' };
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

/** An element by its role and accessible name (puppeteer's ARIA query). */
const role = (r: string, name: string) => `::-p-aria([name="${name}"][role="${r}"])`;
const testId = (id: string) => `[data-testid="${id}"]`;

/** The text of the last element matching `selector` (null when none). */
const lastText = (selector: string) =>
  page.evaluate((s) => {
    const all = (
      globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<unknown> } }
    ).document.querySelectorAll(s);
    return all.length ? (all[all.length - 1] as { textContent: string | null }).textContent : null;
  }, selector);
/** Waits until the last element matching `selector` has a text `ok` accepts; returns it. */
async function textOf(selector: string, ok: (t: string) => boolean, what: string): Promise<string> {
  let seen: string | null = null;
  return waitFor(
    async () => {
      seen = await lastText(selector);
      return seen !== null && ok(seen) ? seen : undefined;
    },
    STEP_MS,
    `${what} (last seen: ${JSON.stringify(seen)})`,
  );
}
/** Waits until some element matching `selector` has a text `ok` accepts. */
async function someText(selector: string, ok: (t: string) => boolean, what: string): Promise<void> {
  let seen: string[] = [];
  await waitFor(
    async () => {
      seen = await page.evaluate(
        (s) =>
          Array.from(
            (
              globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<unknown> } }
            ).document.querySelectorAll(s),
            (e) => (e as { textContent: string | null }).textContent ?? '',
          ),
        selector,
      );
      return seen.some(ok) ? true : undefined;
    },
    STEP_MS,
    `${what} (seen: ${JSON.stringify(seen)})`,
  );
}
async function click(selector: string): Promise<void> {
  await page.locator(selector).setTimeout(STEP_MS).click();
}
async function fill(selector: string, value: string): Promise<void> {
  await page.locator(selector).setTimeout(STEP_MS).fill(value);
}

async function axeViolations(): Promise<string[]> {
  // Evaluated, not a <script> tag: the console's CSP (script-src 'self') refuses inline scripts.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }> }>;
        };
      }
    ).axe;
    const result = await axe.run();
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}
async function checkPage(name: string): Promise<void> {
  expect(await axeViolations(), `axe on ${name}`).toEqual([]);
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) as `${string}.png` });
}

beforeAll(async () => {
  if (!HAVE_FIREFOX) return;
  await mkdir(SCREENSHOTS, { recursive: true });
  axeSource = await readFile(AXE, 'utf8');
  await buildConsole({ quiet: true });
  fake = await startFakeLlm({ ollamaModels: [], openai: script });
  mastodon = await startMastodonFake();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-web-ff-'));
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
    OUTBOUND_ALLOW: 'loopback',
    CHILD_START_TIMEOUT_MS: '80000',
  });
  await waitForHeraldReady(herald, base);
  browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true });
  page = await (await browser.createBrowserContext()).newPage();
  page.setDefaultTimeout(STEP_MS);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (err) => consoleErrors.push(`${page.url()}: ${(err as Error).message}`));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (herald && herald.child.exitCode === null) {
    herald.child.kill('SIGTERM');
    await herald.exited;
  }
  await fake?.close();
  await mastodon?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

const stamp = Date.now();
/** The fake Mastodon account connected in the console. */
let adaId = '';

describe.skipIf(!HAVE_FIREFOX)(
  `web console in Firefox${HAVE_FIREFOX ? '' : ' (skipped: /usr/bin/firefox-esr is absent; apt-get install firefox-esr)'}`,
  () => {
    it('a new user signs up and lands in their workspace as owner', async () => {
      await page.goto(`${base}/`);
      await fill(role('textbox', 'Email'), `ff-${stamp}@example.com`);
      await fill('input[type=password]', PASSWORD);
      await click(role('button', 'Sign up'));
      await textOf(testId('role'), (t) => t === 'owner', 'the role to show owner');
      expect(
        await page.evaluate(() => (globalThis as unknown as { navigator: { userAgent: string } }).navigator.userAgent),
      ).toContain('Firefox');
    }, 60_000);

    it('chat: the reply streams in over the WebSocket, token by token', async () => {
      await click(role('link', 'Chat'));
      await textOf(testId('socket-state'), (t) => t === 'Connected', 'the socket to connect');
      await fill(role('textbox', 'Message'), 'Say hello');
      await click(role('button', 'Send'));
      // A part of the reply shows before the whole of it.
      await textOf(
        testId('assistant-message'),
        (t) => t.startsWith('Hello') && t !== 'Hello from Herald, streamed.',
        'a partial reply',
      );
      await textOf(testId('assistant-message'), (t) => t === 'Hello from Herald, streamed.', 'the whole reply');
      await checkPage('chat');
    }, 60_000);

    it('accounts: connecting Mastodon goes through its authorize page and back to the console', async () => {
      const ada = mastodon.createAccount({ username: 'ada' });
      adaId = ada.accountId;
      // The fake's authorize page signs in whoever this header names (a person would log in there).
      await page.setExtraHTTPHeaders({ 'x-fake-account': ada.accountId });
      await click(role('link', 'Accounts'));
      await fill(role('textbox', 'mastodon server'), mastodon.url);
      await click(role('button', 'Connect mastodon'));
      await textOf('.notice[role="status"]', (t) => t === 'Connected a mastodon account.', 'the connect notice');
      await textOf(testId('account-handle'), (t) => t === 'ada', 'the account in the list');
      await page.setExtraHTTPHeaders({});
      await checkPage('accounts');
    }, 60_000);

    it('chat: a confirm_request is a card; approving it schedules the post, which shows in the calendar', async () => {
      await click(role('link', 'Chat'));
      await textOf(testId('socket-state'), (t) => t === 'Connected', 'the socket to connect');
      await fill(role('textbox', 'Message'), 'Schedule our launch on mastodon tomorrow at 9');
      await click(role('button', 'Send'));
      const card = '[role="group"][aria-label="Confirmation"]';
      await textOf(card, (t) => t.includes('Our launch is live'), 'the confirmation card');
      await click(`${card} ${role('button', 'Approve')}`);
      await textOf(testId('confirm-outcome'), (t) => t === 'confirmed', 'the card to say confirmed');
      await textOf(testId('assistant-message'), (t) => t === 'Scheduled for tomorrow at 9.', 'the closing line');
      await click(role('link', 'Posts'));
      const sameWeek = await page.evaluate(() => {
        const now = new Date();
        const t = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
        const monday = (d: Date) =>
          new Date(d.getFullYear(), d.getMonth(), d.getDate() - ((d.getDay() + 6) % 7)).getTime();
        return monday(now) === monday(t);
      });
      if (!sameWeek) await click(role('button', 'Next week'));
      await someText(
        testId('calendar-item'),
        (t) => t.includes('Our launch is live') && t.includes('09:00 · mastodon · scheduled'),
        'the approved post in the calendar',
      );
      await checkPage('posts');
    }, 60_000);

    it('posts: a post published now goes out through the worker and turns published live', async () => {
      await click(role('button', 'This week'));
      await click(role('checkbox', 'mastodon · ada'));
      await fill(role('textbox', 'Text'), 'Live from Firefox');
      await click(role('button', 'Publish now'));
      await someText(
        testId('calendar-item'),
        (t) => t.includes('Live from Firefox') && t.includes('mastodon · published'),
        'the post to show published',
      );
      expect(mastodon.statuses(adaId).map((st) => st.text)).toContain('Live from Firefox');
      expect(consoleErrors, consoleErrors.join('\n')).toEqual([]);
    }, 60_000);
  },
);
