/**
 * The platforms' side of `bench/channels.ts`, in a child process so that it sees what Slack and
 * Telegram would: with the fakes on Herald's own event loop, an answer already sent would wait
 * to be read until Herald had finished the rest of the turn. Starts the Slack and Telegram
 * fakes (test/fakes), tells the parent where they are, links the chats with the codes it gets,
 * then plays the users: turn by turn, alternately, a Slack direct message (a signed
 * `event_callback` POSTed to Herald's events route) and a Telegram message (an update POSTed
 * to Herald's webhook with its secret), each in a new conversation. For each it sends back the
 * time from the delivery's start to the first answer write that reaches the fake
 * (`chat.postMessage` / `sendMessage`: the answer is visible) and to the first later write
 * (`chat.update` / `editMessageText`), ms; a turn ends when the whole answer is shown.
 */
import { performance } from 'node:perf_hooks';
import { startSlackFake } from '../test/fakes/slack.js';
import { startTelegramFake } from '../test/fakes/telegram.js';

export interface PlatformsReady {
  slackApiUrl: string;
  slackToken: string;
  telegramUrl: string;
  telegramToken: string;
}

export interface PlatformsJob {
  slackEventsUrl: string;
  signingSecret: string;
  telegramWebhookUrl: string;
  webhookSecret: string;
  slackCode: string;
  /** One code per Telegram chat: each turn runs in a chat (a conversation) of its own. */
  telegramCodes: string[];
  answer: string;
  spacingMs: number;
}

export interface PlatformsResult {
  slackFirst: number[];
  slackUpdate: number[];
  telegramFirst: number[];
  telegramEdit: number[];
}

const slack = await startSlackFake({ updatesPerMinute: 1_000_000 });
const tg = await startTelegramFake();
process.send!({
  slackApiUrl: slack.apiUrl,
  slackToken: slack.token,
  telegramUrl: tg.url,
  telegramToken: tg.token,
} satisfies PlatformsReady);
const job = await new Promise<PlatformsJob>((resolve) => process.once('message', (m) => resolve(m as PlatformsJob)));
tg.setWebhookDirect(job.telegramWebhookUrl, job.webhookSecret);

/** Resolves once `probe` holds (the end of a turn, not a measured instant: checked every 5 ms). */
function when(probe: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!probe()) return;
      clearInterval(timer);
      resolve();
    }, 5);
  });
}

// Linking, outside the measurement.
const user = 'UBENCH1';
await slack.deliverEvent(job.slackEventsUrl, job.signingSecret, {
  type: 'message',
  channel_type: 'im',
  channel: 'DLINK',
  user,
  text: `link ${job.slackCode}`,
  ts: '1.0001',
});
await when(() => slack.messages('DLINK').some((m) => m.text.startsWith('Linked')));
const chats = job.telegramCodes.map((_, i) => 9_100_000 + i);
for (const [i, code] of job.telegramCodes.entries()) {
  await tg.send(chats[i]!, `/start ${code}`);
  await when(() => tg.messages(chats[i]!).some((m) => m.text.startsWith('Linked')));
}

const result: PlatformsResult = { slackFirst: [], slackUpdate: [], telegramFirst: [], telegramEdit: [] };
const whole = job.answer;
for (let i = 0; i < chats.length; i++) {
  // Slack: a DM in a new conversation (Herald keeps one thread per DM channel and user).
  {
    const channel = `DB${i}`;
    let first = NaN;
    let update = NaN;
    const t0 = performance.now();
    const off = slack.watch((w) => {
      if (w.channel !== channel) return;
      const t = performance.now() - t0;
      if (w.method === 'chat.postMessage' && Number.isNaN(first)) first = t;
      if (w.method === 'chat.update' && Number.isNaN(update)) update = t;
    });
    await slack.deliverEvent(job.slackEventsUrl, job.signingSecret, {
      type: 'message',
      channel_type: 'im',
      channel,
      user,
      text: 'hello',
      ts: `${i + 2}.0001`,
    });
    await when(() => slack.messages(channel).some((m) => m.text === whole));
    off();
    result.slackFirst.push(first);
    result.slackUpdate.push(update);
  }
  await new Promise((r) => setTimeout(r, job.spacingMs));
  // Telegram: a message in a chat of its own (one thread per chat).
  {
    const chatId = chats[i]!;
    let first = NaN;
    let edit = NaN;
    const t0 = performance.now();
    const off = tg.watch((c) => {
      if (Number(c.body.chat_id) !== chatId) return;
      const t = performance.now() - t0;
      if (c.method === 'sendMessage' && Number.isNaN(first)) first = t;
      if (c.method === 'editMessageText' && Number.isNaN(edit)) edit = t;
    });
    await tg.send(chatId, 'hello');
    await when(() => tg.messages(chatId).some((m) => m.text === whole));
    off();
    result.telegramFirst.push(first);
    result.telegramEdit.push(edit);
  }
  await new Promise((r) => setTimeout(r, job.spacingMs));
}
process.send!(result);
// The fakes stay up for the parent's bare platform calls, until it says stop.
await new Promise((resolve) => process.once('message', resolve));
await Promise.all([slack.close(), tg.close()]);
process.exit(0);
