/**
 * The WebSocket client of `bench/agent.ts`, run in a child process so that it measures what a
 * client on another machine sees: with the client on the server's own event loop, a token
 * already sent would wait to be read until the server had finished the rest of the turn.
 * Takes its job over IPC, sends `turns` user messages (each on a new thread, no faster than
 * `spacingMs` apart) and sends back the time from each message to its first `token` event, ms.
 */
import { WebSocket, type RawData } from 'ws';

interface Job {
  url: string;
  headers: Record<string, string>;
  turns: number;
  spacingMs: number;
}

interface Ev {
  type: string;
  id?: string;
  turnId?: string;
}

const job = await new Promise<Job>((resolve) => process.once('message', (m) => resolve(m as Job)));
const ws = new WebSocket(job.url, [], { headers: job.headers });
const events: Ev[] = [];
let wake: (() => void) | undefined;
ws.on('message', (data: RawData) => {
  events.push(JSON.parse(String(data)) as Ev);
  wake?.();
});
/** The first event from `from` on that matches, waiting for it. */
async function next(match: (e: Ev) => boolean, from = 0): Promise<Ev> {
  for (;;) {
    const found = events.slice(from).find(match);
    if (found) return found;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

await next((e) => e.type === 'ready');
const firstToken: number[] = [];
let lastSend = 0;
for (let i = 0; i < job.turns; i++) {
  const wait = lastSend + job.spacingMs - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  lastSend = performance.now();
  const id = `b-${i}`;
  const from = events.length;
  const t0 = performance.now();
  ws.send(JSON.stringify({ type: 'user_message', id, text: 'hello', threadId: `bench-${i}` }));
  const { turnId } = await next((e) => e.type === 'ack' && e.id === id, from);
  await next((e) => e.type === 'token' && e.turnId === turnId, from);
  firstToken.push(performance.now() - t0);
  await next((e) => e.type === 'message_end' && e.turnId === turnId, from);
}
ws.close();
process.send!(firstToken, () => process.exit(0));
