import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // User-given URLs may reach loopback, where tests serve their pages (test/setup/outbound.ts).
    setupFiles: ['test/setup/outbound.ts'],
    // Tests start real servers (PGlite, Redis, Chroma, child processes); give them time.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Test files share one worker's module cache instead of each importing the whole stack
    // again (about 4 s a file on 2 cores: 576 → 460 s for the suite). Every file starts its
    // own servers and databases; nothing mocks modules or stubs globals.
    isolate: false,
  },
});
