/**
 * bench:channels (issue 20) — how long a Slack or Telegram user waits for the first sight of
 * Herald's answer, beside the WebSocket's user_message → first token in the same run (the
 * baseline). One real agent (`test/agent/agent-env.ts`: the API stack, PGlite or
 * TEST_DATABASE_URL, Redis at REDIS_URL) answers every channel from the scripted
 * zero-latency model server; the Slack app (Bolt, HTTP Events API on Fastify, signatures
 * checked) and the Telegram bot (grammY, webhook with its secret) run in this process exactly
 * as Herald wires them, talking to the Slack and Telegram fakes, which run with the users in a
 * child process (`channels-platforms.ts`), as the WebSocket client does (`agent-ws-client.ts`):
 *
 * - Slack: the signed event POSTed → the answer's first `chat.postMessage` reaching Slack (the
 *   answer is visible; it is then updated in place);
 * - Telegram: the update POSTed to the webhook → the answer's first write reaching Telegram
 *   (`sendMessage`; later writes edit it);
 * - WebSocket: user_message → first `token` event.
 *
 * Every turn starts a new conversation on every channel. Also measured: one bare platform
 * call from this process (`chat.postMessage`, `sendMessage`) to the fakes, the "platform call"
 * the goal allows for. Goal: channel p50 ≤ 1.5 × WebSocket p50 + the platform call.
 * BENCH_TURNS per channel (default 60) after BENCH_WARMUP (default 10).
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { createLogger } from '../core/index.js';
import { SlackChannel } from '../server/channels/slack/index.js';
import { TelegramChannel, telegramWebhookRoutes } from '../server/channels/telegram/index.js';
import { errorsPlugin } from '../server/plugins/errors.js';
import { startAgentEnv } from '../test/agent/agent-env.js';
import type { PlatformsJob, PlatformsReady, PlatformsResult } from './channels-platforms.js';
import { percentile, printResult, printTable, round } from './lib.js';

const TURNS = Number(process.env.BENCH_TURNS ?? 60);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);
const ANSWER = 'Hello there, here is your answer.';
const SIGNING = 'bench-slack-signing-secret';
const SECRET = 'bench_webhook_secret';
const silent = createLogger({ level: 'silent' });

const sorted = (a: number[]) => a.filter((x) => Number.isFinite(x)).sort((x, y) => x - y);
const q = (a: number[], pct: number) => round(percentile(sorted(a), pct), 2);

function childOf(script: string) {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [], { execArgv: ['--import', 'tsx'] });
  const guard = setTimeout(() => child.kill(), 300_000 + (WARMUP + TURNS) * 2_000);
  const next = <T>() =>
    new Promise<T>((resolve, reject) => {
      child.once('message', (m) => resolve(m as T));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    });
  return { child, next, done: () => clearTimeout(guard) };
}

const env = await startAgentEnv();
env.brain = () => ({ text: ANSWER });
let report: () => void;
try {
  // WebSocket baseline: the same client as bench:agent, in its own process.
  const { p } = await env.personWithMastodon();
  const ws = childOf('./agent-ws-client.ts');
  ws.child.send({ url: env.url, headers: p.auth, turns: WARMUP + TURNS, spacingMs: 110 });
  const wsFirst = (await ws.next<number[]>()).slice(WARMUP);
  ws.done();

  // Slack and Telegram: the channels here, the platforms and their users in a child.
  const platforms = childOf('./channels-platforms.ts');
  const ready = await platforms.next<PlatformsReady>();
  const keyPrefix = `bench-channels-${randomUUID()}`;
  const slack = new SlackChannel({
    botToken: ready.slackToken,
    signingSecret: SIGNING,
    apiUrl: ready.slackApiUrl,
    db: env.api.env.database.db,
    redis: env.api.deps.redis,
    keyPrefix,
    chat: env.handler,
    logger: silent,
  });
  const telegram = new TelegramChannel({
    token: ready.telegramToken,
    apiUrl: ready.telegramUrl,
    db: env.api.env.database.db,
    redis: env.api.deps.redis,
    keyPrefix,
    chat: env.handler,
    logger: silent,
  });
  await telegram.init();
  const hook = Fastify();
  await hook.register(errorsPlugin);
  await hook.register(slack.receiver.routes, { prefix: '/v1' });
  await hook.register(telegramWebhookRoutes, { prefix: '/v1', channel: telegram, secret: SECRET });
  const base = await hook.listen({ host: '127.0.0.1', port: 0 });
  const code = async (channel: 'slack' | 'telegram') => {
    const res = await fetch(`${env.api.baseUrl}/v1/channels/link-codes`, {
      method: 'POST',
      headers: { ...p.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ channel }),
    });
    if (res.status !== 201) throw new Error(`link code: HTTP ${res.status} ${await res.text()}`);
    return ((await res.json()) as { code: string }).code;
  };
  const telegramCodes: string[] = [];
  for (let i = 0; i < WARMUP + TURNS; i++) telegramCodes.push(await code('telegram'));
  platforms.child.send({
    slackEventsUrl: `${base}/v1/channels/slack/events`,
    signingSecret: SIGNING,
    telegramWebhookUrl: `${base}/v1/channels/telegram/webhook`,
    webhookSecret: SECRET,
    slackCode: await code('slack'),
    telegramCodes,
    answer: ANSWER,
    spacingMs: 110,
  } satisfies PlatformsJob);
  const got = await platforms.next<PlatformsResult>();
  await slack.idle();
  await telegram.idle();

  // One bare platform call each, from this process: what the goal allows on top of 1.5 × WS.
  const slackPost: number[] = [];
  const telegramSend: number[] = [];
  for (let i = 0; i < 50; i++) {
    let t0 = performance.now();
    await slack.app.client.chat.postMessage({ channel: 'DCALL', text: 'x' });
    slackPost.push(performance.now() - t0);
    t0 = performance.now();
    await telegram.bot.api.sendMessage(1, 'x');
    telegramSend.push(performance.now() - t0);
  }
  await slack.close();
  await telegram.close();
  await hook.close();
  platforms.child.send('stop');
  platforms.done();

  const slackFirst = got.slackFirst.slice(WARMUP);
  const slackUpdate = got.slackUpdate.slice(WARMUP);
  const telegramFirst = got.telegramFirst.slice(WARMUP);
  const telegramEdit = got.telegramEdit.slice(WARMUP);
  const wsP50 = q(wsFirst, 50);
  const row = (path: string, a: number[], call?: number[]) => ({
    path,
    n: sorted(a).length,
    p50: q(a, 50),
    p90: q(a, 90),
    p99: q(a, 99),
    'p50 / ws p50': round(q(a, 50) / wsP50, 2),
    'goal ≤ 1.5 × ws + call': call ? round(1.5 * wsP50 + q(call, 50), 2) : '',
  });
  report = () => {
    printTable(`First sight of the answer, ${TURNS} turns per channel, zero-latency scripted model, loopback (ms)`, [
      row('WebSocket user_message → first token (baseline)', wsFirst),
      row('Slack event → first chat.postMessage of the answer', slackFirst, slackPost),
      row('Slack event → first chat.update of the answer', slackUpdate),
      row('Telegram update → first sendMessage of the answer', telegramFirst, telegramSend),
      row('Telegram update → first editMessageText of the answer', telegramEdit),
      row('bare chat.postMessage (platform call)', slackPost),
      row('bare sendMessage (platform call)', telegramSend),
    ]);
    printResult({
      bench: 'channels',
      slack_first_update_p50_ms: q(slackFirst, 50),
      telegram_first_edit_p50_ms: q(telegramFirst, 50),
      ws_first_token_p50_ms: wsP50,
      turns: TURNS,
      slack_first_update_p99_ms: q(slackFirst, 99),
      telegram_first_edit_p99_ms: q(telegramFirst, 99),
      ws_first_token_p99_ms: q(wsFirst, 99),
      slack_post_call_p50_ms: q(slackPost, 50),
      telegram_send_call_p50_ms: q(telegramSend, 50),
      slack_ratio: round(q(slackFirst, 50) / wsP50, 2),
      telegram_ratio: round(q(telegramFirst, 50) / wsP50, 2),
    });
  };
} finally {
  await env.close();
}
// After everything closed, so the JSON line is the last one printed.
report();
