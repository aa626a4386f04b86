import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` writes a new numbered SQL migration from core/db/schema.ts.
// Migrations are checked in and never edited after they land.
export default defineConfig({
  dialect: 'postgresql',
  schema: './core/db/schema.ts',
  out: './core/db/migrations',
});
