/**
 * The click journal (tools/links/journal.ts) on real files and a real Redis: clicks appended
 * reach the stream with their fields; a Redis that goes away and comes back costs no click
 * (appending never waits for it); a file grown large is emptied once shipped; a journal left
 * by a dead process (including a half-written last line) is shipped by the next one to open,
 * exactly once when two open at the same time; closing ships and removes the file, or leaves
 * it for the next process when Redis does not answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createRedisConnection } from '../../core/index.js';
import {
  ClickJournal,
  ClickPastDeadline,
  CLICKS_PER_ENTRY,
  LinkRedirector,
  clickStreamKey,
  parseClickEntry,
  type ClickEvent,
} from '../../tools/links/index.js';
import { freePort, waitFor } from '../helpers/processes.js';
import { REDIS_URL } from '../helpers/publishing-env.js';

const logger = createLogger({ level: 'silent' });
let redis: Redis;
let dir: string;
const prefixes: string[] = [];
const journals: ClickJournal[] = [];

const newPrefix = () => {
  const p = `hjournal-${randomUUID().slice(0, 8)}`;
  prefixes.push(p);
  return p;
};
const click = (i: number, linkId = randomUUID()): ClickEvent => ({
  id: randomUUID(),
  linkId,
  at: new Date(1_700_000_000_000 + i),
  bot: i % 3 === 0,
  visitor: `v${i}`,
  platform: i % 2 ? 'bluesky' : null,
});
/** Every click in the stream, in order (a journal ships them in batch entries). */
async function streamClicks(r: Redis, prefix: string): Promise<ClickEvent[]> {
  const entries = (await r.xrange(clickStreamKey(prefix), '-', '+')) as Array<[string, string[]]>;
  return entries.flatMap(([, f]) => {
    const { clicks, dropped } = parseClickEntry(f);
    expect(dropped).toBe(0);
    expect(clicks.length).toBeLessThanOrEqual(CLICKS_PER_ENTRY);
    return clicks;
  });
}
function journal(prefix: string, over: Partial<ConstructorParameters<typeof ClickJournal>[0]> = {}) {
  const j = new ClickJournal({ dir, redis, keyPrefix: prefix, logger, scanIntervalMs: 0, ...over });
  journals.push(j);
  return j;
}

beforeAll(async () => {
  redis = createRedisConnection(REDIS_URL);
});
afterEach(async () => {
  for (const j of journals.splice(0)) await j.close(500).catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterAll(async () => {
  for (const p of prefixes) {
    const keys = await redis.keys(`${p}:links:*`);
    if (keys.length) await redis.del(...keys);
  }
  await redis.quit();
});

describe('the click journal', () => {
  it('ships appended clicks to the stream with every field, and removes its file on close', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-journal-'));
    const prefix = newPrefix();
    const j = await journal(prefix).open();
    const sent = Array.from({ length: 250 }, (_, i) => click(i));
    // Resolved: in the file (appends of one turn share a write).
    await Promise.all(sent.map((c) => j.append(c)));
    expect(fs.readFileSync(j.file, 'utf8').split('\n')).toHaveLength(251);
    await j.flush();
    expect(j.backlogBytes).toBe(0);
    expect(await streamClicks(redis, prefix)).toEqual(sent);
    expect(fs.existsSync(j.file)).toBe(true);
    await j.close();
    expect(fs.existsSync(j.file)).toBe(false);
    expect(await readdir(dir)).toEqual([]);
  });

  it('keeps clicks while Redis is gone, appending without waiting, and ships them when it is back', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-journal-'));
    const port = await freePort();
    const start = () =>
      spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    let server: ChildProcess = start();
    const own = createRedisConnection(`redis://127.0.0.1:${port}`);
    try {
      await waitFor(async () => ((await own.ping().catch(() => null)) === 'PONG' ? true : undefined), 10_000, 'redis');
      const prefix = `hjournal-${randomUUID().slice(0, 8)}`;
      const j = await journal(prefix, { redis: own }).open();
      await Promise.all(Array.from({ length: 50 }, (_, i) => j.append(click(i))));
      await j.flush();

      server.kill('SIGKILL');
      await once(server, 'exit');
      const during = Array.from({ length: 300 }, (_, i) => click(100 + i));
      // Appends resolve (in the file) without Redis.
      await Promise.all(during.map((c) => j.append(c)));
      await new Promise((r) => setTimeout(r, 300));
      expect(j.backlogBytes).toBeGreaterThan(0);

      // Redis comes back empty (it kept nothing on disk): only what the journal still held arrives.
      server = start();
      await waitFor(async () => (j.backlogBytes === 0 ? true : undefined), 20_000, 'the journal to drain');
      expect(await streamClicks(own, prefix)).toEqual(during);
    } finally {
      own.disconnect();
      server.kill('SIGKILL');
    }
  });

  it('empties a file grown past 1 MiB once everything in it is shipped', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-journal-'));
    const prefix = newPrefix();
    const j = await journal(prefix).open();
    await Promise.all(Array.from({ length: 11_000 }, (_, i) => j.append(click(i)))); // ~1.1 MiB of lines
    await j.flush();
    expect(fs.statSync(j.file).size).toBe(0);
    await Promise.all(Array.from({ length: 10 }, (_, i) => j.append(click(20_000 + i))));
    await j.flush();
    const shipped = await streamClicks(redis, prefix);
    expect(shipped).toHaveLength(11_010);
    expect(new Set(shipped.map((c) => c.id)).size).toBe(11_010);
    // In batch entries, not one entry per click.
    expect(await redis.xlen(clickStreamKey(prefix))).toBeLessThan(11_010 / 10);
  });

  it('ships a journal a dead process left, half-written last line aside, exactly once when two processes start together', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-journal-'));
    const prefix = newPrefix();
    // A process that ran and is gone: its pid is dead on this host.
    const dead = spawn(process.execPath, ['-e', '']);
    await once(dead, 'exit');
    const host = os.hostname().replace(/[^A-Za-z0-9.]/g, '_');
    const left = Array.from({ length: 1_200 }, (_, i) => click(i));
    const lines = left.map(
      (e) => `${e.id}\t${e.linkId}\t${e.at.getTime()}\t${e.bot ? 1 : 0}\t${e.visitor}\t${e.platform ?? ''}\n`,
    );
    await writeFile(
      path.join(dir, `${host}-${dead.pid}-abcdef012345.clicks`),
      `${lines.join('')}${randomUUID()}\t${randomUUID()}\t17000`, // killed mid-line
    );
    // And a file of a live process of this host (this one): not touched.
    await writeFile(path.join(dir, `${host}-${process.ppid}-0123456789ab.clicks`), lines[0]!);

    const a = journal(prefix);
    const b = journal(prefix);
    await Promise.all([a.open(), b.open()]);
    await Promise.all([a.recoverOrphans(), b.recoverOrphans()]);
    const shipped = await streamClicks(redis, prefix);
    expect(shipped).toHaveLength(1_200);
    expect(shipped).toEqual(left);
    const rest = (await readdir(dir)).sort();
    expect(rest).toEqual(
      [path.basename(a.file), path.basename(b.file), `${host}-${process.ppid}-0123456789ab.clicks`].sort(),
    );
  });

  it('a journal untouched for longer than the orphan age is shipped whoever wrote it', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-journal-'));
    const prefix = newPrefix();
    const e = click(1);
    const file = path.join(dir, `another-host-1-0a0b0c0d0e0f.clicks`);
    await writeFile(file, `${e.id}\t${e.linkId}\t${e.at.getTime()}\t0\t${e.visitor}\t\n`);
    const fresh = await journal(prefix, { orphanAfterMs: 60_000 }).open();
    await fresh.recoverOrphans();
    expect(await redis.xlen(clickStreamKey(prefix))).toBe(0); // another host's, recently touched
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(file, old, old);
    await fresh.recoverOrphans();
    expect(await streamClicks(redis, prefix)).toEqual([{ ...e, bot: false, platform: null }]);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('closing while Redis does not answer leaves the file, and the next process to start ships it', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-journal-'));
    const prefix = newPrefix();
    const nowhere = createRedisConnection(`redis://127.0.0.1:${await freePort()}`);
    nowhere.on('error', () => undefined);
    try {
      const j = await journal(prefix, { redis: nowhere }).open();
      const sent = Array.from({ length: 20 }, (_, i) => click(i));
      await Promise.all(sent.map((c) => j.append(c)));
      await j.close(300);
      expect(fs.existsSync(j.file)).toBe(true);
      // The same pid, another boot: a restarted process finds its earlier life's file.
      const next = await journal(prefix).open();
      await next.recoverOrphans();
      expect(await streamClicks(redis, prefix)).toEqual(sent);
      expect(fs.existsSync(j.file)).toBe(false);
    } finally {
      nowhere.disconnect();
    }
  });

  it("a click that waited past the deadline for the day's salt is still kept once the salt comes", async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-journal-'));
    const port = await freePort();
    const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    const own = createRedisConnection(`redis://127.0.0.1:${port}`);
    const admin = createRedisConnection(`redis://127.0.0.1:${port}`);
    try {
      await waitFor(async () => ((await own.ping().catch(() => null)) === 'PONG' ? true : undefined), 10_000, 'redis');
      await admin.ping();
      const prefix = `hjournal-${randomUUID().slice(0, 8)}`;
      const j = await journal(prefix, { redis: own }).open();
      // Redis stalls (a failover, a slow fsync) for 1.5 s: the salt cannot be read in time.
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      const redirector = new LinkRedirector({
        db: undefined as never,
        redis: own,
        keyPrefix: prefix,
        journal: j,
        redisWaitMs: 200,
      });
      const link = { linkId: randomUUID(), location: 'https://shop.example/' };
      const req = {
        method: 'GET',
        ip: '198.51.100.9',
        userAgent: 'Mozilla/5.0',
        referer: undefined,
        purpose: undefined,
      };
      // The redirect goes out after the deadline without waiting longer...
      await expect(redirector.record(link, req)).rejects.toBeInstanceOf(ClickPastDeadline);
      // ...and the click is kept when the salt comes, then shipped.
      await waitFor(
        async () => ((await streamClicks(own, prefix)).some((c) => c.linkId === link.linkId) ? true : undefined),
        10_000,
        'the late click to reach the stream',
      );
      await j.close();
    } finally {
      own.disconnect();
      admin.disconnect();
      server.kill('SIGKILL');
    }
  });

  it('a redirect whose journal refuses the click records it in Redis directly', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-journal-'));
    const prefix = newPrefix();
    const j = await journal(prefix).open();
    await j.close();
    await expect(j.append(click(1))).rejects.toThrow(/not open/);
    const redirector = new LinkRedirector({ db: undefined as never, redis, keyPrefix: prefix, journal: j });
    const link = { linkId: randomUUID(), location: 'https://shop.example/' };
    const req = { method: 'GET', ip: '198.51.100.7', userAgent: 'Mozilla/5.0', referer: undefined, purpose: undefined };
    const recorded = await Promise.all([redirector.record(link, req), redirector.record(link, req)]);
    expect(await streamClicks(redis, prefix)).toEqual(recorded);
  });
});
