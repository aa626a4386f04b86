import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../core/index.js';
import { storageContract } from '../contract/storage.suite.js';

storageContract('PGlite', {
  open: async () => {
    const database = await openDatabase({ kind: 'pglite' });
    return { database, dispose: () => database.close() };
  },
  persistent: async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-pglite-'));
    return {
      open: () => openDatabase({ kind: 'pglite', dir }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
});
