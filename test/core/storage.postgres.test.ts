import { describe } from 'vitest';
import { openDatabase } from '../../core/index.js';
import { storageContract } from '../contract/storage.suite.js';
import { openPostgresForTest, TEST_DATABASE_URL } from '../helpers/databases.js';

// Runs when TEST_DATABASE_URL names a PostgreSQL server (CI sets it; see .ci/run).
describe.runIf(!!TEST_DATABASE_URL)('PostgreSQL', () => {
  storageContract('PostgreSQL', {
    open: () => openPostgresForTest(TEST_DATABASE_URL!),
    persistent: async () => {
      const scratch = await openPostgresForTest(TEST_DATABASE_URL!);
      await scratch.database.close();
      return {
        open: () => openDatabase({ kind: 'postgres', url: scratch.url, poolMax: 2 }),
        cleanup: () => scratch.dispose(),
      };
    },
  });
});
