import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig, redactedConfig, VARIABLES } from '../../core/index.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-config-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const load = (env: Record<string, string>, cwd = dir) => loadConfig({ env, cwd });

describe('config', () => {
  it('starts with nothing set: embedded defaults', () => {
    const c = load({});
    expect(c).toMatchObject({
      host: DEFAULTS.host,
      port: DEFAULTS.port,
      role: 'all',
      databaseUrl: undefined,
      chromaUrl: undefined,
      redisUrl: DEFAULTS.redisUrl,
      redisAutostart: true,
      encryption: undefined,
    });
    expect(c.dataDir).toBe(path.join(dir, 'data'));
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every bad variable together, each with what it expects', () => {
    let message = '';
    try {
      load({
        PORT: 'eighty',
        LOG_LEVEL: 'loud',
        DATABASE_URL: 'mysql://u:hunter2@db/x',
        REDIS_URL: 'http://localhost',
        REDIS_AUTOSTART: 'maybe',
        HERALD_ROLE: 'boss',
        ENCRYPTION_KEYS: 'k1:short',
        SHUTDOWN_TIMEOUT_MS: '-5',
      });
    } catch (err) {
      expect(err).toMatchObject({ code: 'config_invalid' });
      message = (err as Error).message;
    }
    for (const name of [
      'PORT',
      'LOG_LEVEL',
      'DATABASE_URL',
      'REDIS_URL',
      'REDIS_AUTOSTART',
      'HERALD_ROLE',
      'ENCRYPTION_KEYS',
      'SHUTDOWN_TIMEOUT_MS',
    ]) {
      expect(message).toMatch(new RegExp(`^  ${name}: .*\\(expects .+\\)$`, 'm'));
    }
    expect(message).toContain('8 problems');
    expect(message).toContain('got "eighty"');
    // Values that may hold secrets are never echoed back.
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('short');
  });

  it('reads .env under the environment, which wins', async () => {
    const envDir = await mkdtemp(path.join(os.tmpdir(), 'herald-dotenv-'));
    await writeFile(path.join(envDir, '.env'), 'PORT=4100\nLOG_LEVEL=debug\nDATA_DIR=/srv/herald\n');
    const c = load({ LOG_LEVEL: 'warn' }, envDir);
    expect([c.port, c.logLevel, c.dataDir]).toEqual([4100, 'warn', '/srv/herald']);
    await rm(envDir, { recursive: true });
  });

  it('treats an empty value as unset', () => {
    expect(load({ PORT: '', DATABASE_URL: ' ' })).toMatchObject({ port: DEFAULTS.port, databaseUrl: undefined });
  });

  it('parses encryption keys; the first is active unless another is named', () => {
    const a = Buffer.alloc(32, 1).toString('base64');
    const b = Buffer.alloc(32, 2).toString('base64');
    expect(load({ ENCRYPTION_KEYS: `new:${a},old:${b}` }).encryption?.activeKeyId).toBe('new');
    expect(
      load({ ENCRYPTION_KEYS: `new:${a},old:${b}`, ENCRYPTION_ACTIVE_KEY_ID: 'old' }).encryption?.activeKeyId,
    ).toBe('old');
    expect(() => load({ ENCRYPTION_KEYS: `new:${a}`, ENCRYPTION_ACTIVE_KEY_ID: 'nope' })).toThrow(
      /ENCRYPTION_ACTIVE_KEY_ID/,
    );
    expect(() => load({ ENCRYPTION_KEYS: `k:${a},k:${b}` })).toThrow(/appears twice/);
    expect(() => load({ ENCRYPTION_ACTIVE_KEY_ID: 'k' })).toThrow(/ENCRYPTION_KEYS is not/);
  });

  it('redacts credentials and keys for logging', () => {
    const key = Buffer.alloc(32, 3).toString('base64');
    const c = load({ DATABASE_URL: 'postgres://herald:hunter2@db:5432/herald', ENCRYPTION_KEYS: `k1:${key}` });
    const text = JSON.stringify(redactedConfig(c));
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain(key);
    expect(text).toContain('k1');
  });

  it('every variable is documented in the README configuration table, and nothing else is', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'));
    const documented = [...section.matchAll(/^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented).toEqual(VARIABLES.map((v) => v.name));
    // Defaults shown in the README are the defaults in the code (`npm run docs:config` rewrites the table).
    const defaults = section
      .split('\n')
      .filter((line) => /^\|\s*`[A-Z][A-Z0-9_]+`/.test(line))
      .map((line) =>
        line
          .split(/(?<!\\)\|/)[3]!
          .trim()
          .replace(/\\\|/g, '|'),
      );
    expect(defaults).toEqual(VARIABLES.map((v) => v.default));
  });
});
