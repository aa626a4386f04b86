import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start real servers (PGlite, Redis, Chroma, child processes); give them time.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
