import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/index.js';
import { startChroma } from '../../knowledge/index.js';
import { freePort, isAlive } from '../helpers/processes.js';

const logger = createLogger({ level: 'silent' });
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-chroma-'));
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('embedded Chroma', () => {
  it('starts from the chromadb package, persists a collection across restarts, and stops', async () => {
    const first = await startChroma({ url: undefined, dataDir, startTimeoutMs: 20_000, logger });
    await first.ping();
    const collection = await first.client.createCollection({ name: 'herald_test' });
    await collection.add({
      ids: ['a', 'b'],
      embeddings: [
        [1, 0, 0],
        [0, 1, 0],
      ],
      documents: ['alpha', 'beta'],
    });
    await first.stop();
    expect(isAlive(first.child!.pid)).toBe(false);
    await expect(first.ping(300)).rejects.toMatchObject({ code: 'chroma_unavailable' });

    const second = await startChroma({ url: undefined, dataDir, startTimeoutMs: 20_000, logger });
    const again = await second.client.getCollection({ name: 'herald_test' });
    const hits = await again.query({ queryEmbeddings: [[0.9, 0.1, 0]], nResults: 1 });
    expect(hits.ids[0]).toEqual(['a']);
    await second.stop();
  });

  it('with CHROMA_URL set only connects, and reports a dead server as chroma_unavailable', async () => {
    const handle = await startChroma({
      url: `http://127.0.0.1:${await freePort()}`,
      dataDir,
      startTimeoutMs: 1_000,
      logger,
    });
    expect(handle.child).toBeUndefined();
    await expect(handle.ping(300)).rejects.toMatchObject({ code: 'chroma_unavailable' });
    await handle.stop();
  });
});
