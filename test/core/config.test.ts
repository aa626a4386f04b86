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

describe('config: models', () => {
  const problemOf = (env: Record<string, string>) => {
    try {
      load(env);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('expected the configuration to be refused');
  };

  it('reads MODELS_FILE with the rest of the configuration', async () => {
    const file = path.join(dir, 'models.json');
    await writeFile(file, JSON.stringify({ models: [{ provider: 'openai', model: 'local-qwen', local: true }] }));
    expect(load({ MODELS_FILE: 'models.json' }).models).toMatchObject({
      file,
      entries: [{ provider: 'openai', model: 'local-qwen', local: true }],
    });
    expect(load({}).models.entries).toEqual([]);
  });

  it('a missing, unreadable or invalid MODELS_FILE is one more problem in the one message', async () => {
    await writeFile(path.join(dir, 'not-json.json'), '{ models: ');
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ models: [{ provider: 'mistral', model: '' }] }));
    expect(problemOf({ MODELS_FILE: 'nope.json', PORT: 'x' })).toMatch(
      /2 problems:\n {2}PORT: .*\n {2}MODELS_FILE: no file at .*nope\.json \(expects a JSON file in the format of docs\/models\.md\)$/,
    );
    expect(problemOf({ MODELS_FILE: 'not-json.json' })).toMatch(/MODELS_FILE: .*not-json\.json is not JSON/);
    expect(problemOf({ MODELS_FILE: 'bad.json' })).toMatch(
      /MODELS_FILE: .*bad\.json is invalid: models\.0\.provider: .*; models\.0\.model: /,
    );
  });

  it('QUEUE_PREFIX: a long one is refused for its length, a bad character for the character', () => {
    expect(problemOf({ QUEUE_PREFIX: 'a'.repeat(33) })).toMatch(/QUEUE_PREFIX: expected at most 32 characters/);
    expect(problemOf({ QUEUE_PREFIX: 'her ald' })).toMatch(/QUEUE_PREFIX: expected only letters, digits, - or _/);
    expect(load({ QUEUE_PREFIX: 'a'.repeat(32) }).queuePrefix).toBe('a'.repeat(32));
  });

  it('INSTANCE_ADMINS takes user ids and MODEL_PULL_ALLOWLIST model names, as lists', () => {
    const id = '0b6f2c1e-3d4a-4f5b-8c7d-9e0f1a2b3c4d';
    const c = load({ INSTANCE_ADMINS: ` ${id} ,`, MODEL_PULL_ALLOWLIST: 'llama3.2:3b, qwen2.5:7b' });
    expect(c.instanceAdmins).toEqual([id]);
    expect(c.models.pullAllowlist).toEqual(['llama3.2:3b', 'qwen2.5:7b']);
    expect(load({}).instanceAdmins).toEqual([]);
    expect(problemOf({ INSTANCE_ADMINS: 'admin@example.com' })).toMatch(
      /INSTANCE_ADMINS: expected a comma list of user ids/,
    );
    expect(problemOf({ MODEL_PULL_ALLOWLIST: '../etc' })).toMatch(/MODEL_PULL_ALLOWLIST: expected a comma list/);
  });
});
