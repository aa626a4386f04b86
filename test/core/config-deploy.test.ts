/**
 * Configuration a production deployment leans on: every secret read from `<NAME>_FILE`
 * (Docker and Kubernetes secrets) and refused when given both ways, `PUBLIC_URL` as the
 * default of the OAuth redirect URIs, `TRUST_PROXY` and `STARTUP_RETRY_MS`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSecret, loadConfig, VARIABLES, type Config } from '../../core/config/index.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-config-deploy-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const load = (env: Record<string, string>) => loadConfig({ env, cwd: dir, readDotenv: false });

const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');
/** Two different valid values per secret; other secrets fall back to long plain strings. */
const SAMPLES: Record<string, [string, string]> = {
  DATABASE_URL: ['postgres://herald:one@db-one:5432/herald', 'postgres://herald:two@db-two:5432/herald'],
  REDIS_URL: ['redis://:one@redis-one:6379', 'redis://:two@redis-two:6379'],
  ENCRYPTION_KEYS: [`k1:${key(1)}`, `k2:${key(2)}`],
};
const sample = (name: string, which: 0 | 1): string =>
  SAMPLES[name]?.[which] ?? `${which === 0 ? 'first' : 'second'}-${name.toLowerCase()}-0123456789abcdef0123456789`;

/** Everything a secret needs around it to show up in the config (client ids, a bucket, a public URL). */
const COMPANIONS = {
  PUBLIC_URL: 'https://herald.example.com',
  X_CLIENT_ID: 'x-client',
  LINKEDIN_CLIENT_ID: 'linkedin-client',
  S3_BUCKET: 'herald-media',
};
const secrets = VARIABLES.filter(isSecret).map((v) => v.name);
/** A loaded config, or the message of the config error: what a start-up would get. */
const outcome = (env: Record<string, string>): { config: Config } | { error: string } => {
  try {
    return { config: load(env) };
  } catch (err) {
    return { error: (err as Error).message };
  }
};
/** Secrets whose value must show in the config (a secret added later is at least checked for equal outcomes). */
const KNOWN = [
  'DATABASE_URL',
  'REDIS_URL',
  'ENCRYPTION_KEYS',
  'JWT_SECRET',
  'GROQ_API_KEY',
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'X_CLIENT_SECRET',
  'LINKEDIN_CLIENT_SECRET',
  'METRICS_TOKEN',
];
/** Every secret set to its first sample, less any whose sample this config refuses (a format of its own). */
const baseEnv = (): Record<string, string> => {
  const env: Record<string, string> = {
    ...COMPANIONS,
    ...Object.fromEntries(secrets.map((name) => [name, sample(name, 0)])),
  };
  for (let round = 0; round < 3; round++) {
    const o = outcome(env);
    if ('config' in o) break;
    for (const m of o.error.matchAll(/^ {2}([A-Z0-9_]+):/gm)) if (!KNOWN.includes(m[1]!)) delete env[m[1]!];
  }
  return env;
};

describe('secrets from files (<NAME>_FILE)', () => {
  it('covers every secret, including the database and Redis URLs and every key, token and client secret', () => {
    for (const name of KNOWN) expect(secrets).toContain(name);
    expect(secrets).not.toContain('PORT');
    expect('config' in outcome(baseEnv())).toBe(true);
  });

  it.each(secrets)('%s_FILE gives the same outcome as %s, and the value really arrives', async (name) => {
    const file = path.join(dir, `${name}.secret`);
    // Docker secrets and `echo x > file` end in a newline: it is not part of the value.
    await writeFile(file, `${sample(name, 1)}\n`);
    const { [name]: _, ...rest } = baseEnv();
    const fromFile = outcome({ ...rest, [`${name}_FILE`]: file });
    const direct = outcome({ ...rest, [name]: sample(name, 1) });
    // Same config, or the same refusal of the same value (a secret with a format of its own).
    expect(fromFile).toEqual(direct);
    if (KNOWN.includes(name)) {
      expect('config' in direct).toBe(true);
      expect(direct).not.toEqual(outcome(rest));
    }
  });

  it.each(secrets)('%s and %s_FILE together are refused, naming both and echoing neither', async (name) => {
    const file = path.join(dir, `${name}.both`);
    await writeFile(file, sample(name, 1));
    let message = '';
    try {
      load({ ...baseEnv(), [name]: sample(name, 0), [`${name}_FILE`]: file });
    } catch (err) {
      expect(err).toMatchObject({ code: 'config_invalid' });
      message = (err as Error).message;
    }
    expect(message).toMatch(
      new RegExp(
        `^  ${name}_FILE: set together with ${name} \\(expects either ${name} or ${name}_FILE, not both\\)$`,
        'm',
      ),
    );
    expect(message).not.toContain(sample(name, 0));
    expect(message).not.toContain(sample(name, 1));
  });

  it('a file that cannot be read is a config problem naming the file, not a crash', () => {
    expect(() => load({ JWT_SECRET_FILE: path.join(dir, 'missing') })).toThrow(
      /JWT_SECRET_FILE: cannot read .*missing \(ENOENT\)/,
    );
  });

  it('a value read from a file is validated like any other', async () => {
    const file = path.join(dir, 'short-jwt');
    await writeFile(file, 'too-short');
    expect(() => load({ JWT_SECRET_FILE: file })).toThrow(/JWT_SECRET: expected at least 32 characters/);
  });

  it('variables that are not secrets have no _FILE form', async () => {
    const file = path.join(dir, 'port');
    await writeFile(file, '4444');
    expect(load({ PORT_FILE: file }).port).toBe(3000);
  });
});

describe('PUBLIC_URL', () => {
  it('is the default of every OAuth redirect URI; an explicit one still wins', () => {
    const c = load({
      PUBLIC_URL: 'https://herald.example.com/',
      X_CLIENT_ID: 'x',
      X_CLIENT_SECRET: 'xs',
      LINKEDIN_CLIENT_ID: 'l',
      LINKEDIN_CLIENT_SECRET: 'ls',
      LINKEDIN_REDIRECT_URI: 'https://other.example.com/cb',
    });
    expect(c.publicUrl).toBe('https://herald.example.com');
    expect(c.api.publicUrl).toBe('https://herald.example.com');
    expect(c.connect.x?.redirectUri).toBe('https://herald.example.com/v1/social-accounts/callback');
    expect(c.connect.mastodon?.redirectUri).toBe('https://herald.example.com/v1/social-accounts/callback');
    expect(c.connect.linkedin?.redirectUri).toBe('https://other.example.com/cb');
  });

  it('unset, platforms still need their own redirect URI', () => {
    const c = load({ X_CLIENT_ID: 'x', X_CLIENT_SECRET: 'xs' });
    expect(c.publicUrl).toBeUndefined();
    expect(c.connect.x).toBeUndefined();
    expect(c.connect.mastodon).toBeUndefined();
  });

  it('must be an http(s) URL', () => {
    expect(() => load({ PUBLIC_URL: 'herald.example.com' })).toThrow(/PUBLIC_URL: expected a URL/);
  });
});

describe('TRUST_PROXY and STARTUP_RETRY_MS', () => {
  it('TRUST_PROXY: off by default; true, or the proxies as addresses, CIDRs and range names', () => {
    expect(load({}).api.trustProxy).toBe(false);
    expect(load({ TRUST_PROXY: 'true' }).api.trustProxy).toBe(true);
    expect(load({ TRUST_PROXY: 'false' }).api.trustProxy).toBe(false);
    expect(load({ TRUST_PROXY: '10.0.0.2, 172.16.0.0/12,loopback,::1' }).api.trustProxy).toEqual([
      '10.0.0.2',
      '172.16.0.0/12',
      'loopback',
      '::1',
    ]);
    for (const bad of ['1', 'proxy.example.com', '10.0.0.0/33', 'yes']) {
      expect(() => load({ TRUST_PROXY: bad }), bad).toThrow(
        /TRUST_PROXY: expected false \| true \| proxy addresses or CIDRs/,
      );
    }
  });

  it('STARTUP_RETRY_MS: 60 s by default, 0 allowed (try once), negative refused', () => {
    expect(load({}).startupRetryMs).toBe(60_000);
    expect(load({ STARTUP_RETRY_MS: '0' }).startupRetryMs).toBe(0);
    expect(() => load({ STARTUP_RETRY_MS: '-1' })).toThrow(/STARTUP_RETRY_MS/);
  });
});
