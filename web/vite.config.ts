/**
 * Builds the web console into web/dist, which Herald serves at `/`. No React plugin: Vite 8
 * compiles TSX with Oxc (automatic JSX runtime from tsconfig), and the console does not need
 * Fast Refresh to be built; `npm run dev:web` proxies the API to a running Herald.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: {
    proxy: {
      '/v1': { target: 'http://127.0.0.1:3000', ws: true },
    },
  },
});
