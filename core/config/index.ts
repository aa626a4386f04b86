/**
 * The one place Herald reads its environment. `loadConfig` merges an optional `.env` file
 * under the process environment (the environment wins), validates every variable at once and
 * returns a frozen, typed `Config`. A bad value never surfaces later as a crash deep in a
 * module: start-up stops with one message that lists every bad variable and what it expects.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { DEFAULTS, VARIABLES, type LOG_LEVELS, type ROLES } from './variables.js';
import { HeraldError } from '../errors.js';

export { VARIABLES, DEFAULTS } from './variables.js';
export type { VariableDoc } from './variables.js';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** Absolute path. */
  readonly dataDir: string;
  readonly role: (typeof ROLES)[number];
  readonly databaseUrl: string | undefined;
  readonly databasePoolMax: number;
  readonly redisUrl: string;
  readonly redisAutostart: boolean;
  readonly chromaUrl: string | undefined;
  readonly ollamaUrl: string | undefined;
  /** Parsed keys, or undefined when the data-dir key file should be used. */
  readonly encryption: { readonly keys: ReadonlyMap<string, Buffer>; readonly activeKeyId: string } | undefined;
  readonly shutdownTimeoutMs: number;
  readonly childStartTimeoutMs: number;
  readonly queuePrefix: string;
  readonly publish: {
    readonly concurrency: number;
    readonly maxAttempts: number;
    readonly backoffMs: number;
    readonly jobLockMs: number;
    readonly stalledIntervalMs: number;
    readonly accountLeaseMs: number;
    readonly reconcileIntervalMs: number;
    readonly connectorTimeoutMs: number;
  };
}

export interface LoadConfigOptions {
  /** Defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Directory holding `.env` and against which relative paths resolve. Defaults to `process.cwd()`. */
  cwd?: string;
  /** Read `<cwd>/.env` when present. Defaults to true. */
  readDotenv?: boolean;
}

export interface ConfigProblem {
  variable: string;
  expects: string;
  problem: string;
}

function readDotenvFile(cwd: string): Record<string, string> {
  try {
    return parseDotenv(readFileSync(path.join(cwd, '.env')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

function describe(value: string): string {
  return value.length > 40 ? `${value.slice(0, 37)}...` : value;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const fileVars = options.readDotenv === false ? {} : readDotenvFile(cwd);
  const env = { ...fileVars, ...(options.env ?? process.env) };

  const problems: ConfigProblem[] = [];
  const values: Record<string, unknown> = {};
  for (const v of VARIABLES) {
    const raw = env[v.name];
    // An empty string counts as unset so `FOO=` in a .env file means "use the default".
    const input = raw === undefined || raw.trim() === '' ? undefined : raw.trim();
    if (input === undefined) continue; // every variable has a default or is optional
    const parsed = v.schema.safeParse(input);
    if (parsed.success) values[v.name] = parsed.data;
    else {
      const secret = v.name === 'ENCRYPTION_KEYS' || v.name.endsWith('_URL');
      problems.push({
        variable: v.name,
        expects: v.expects,
        problem: `${parsed.error.issues[0]?.message ?? 'invalid'}${secret || input === undefined ? '' : `, got "${describe(input)}"`}`,
      });
    }
  }

  const pick = <T>(name: string, fallback: T): T => (values[name] === undefined ? fallback : (values[name] as T));

  let encryption: Config['encryption'];
  const keysRaw = values.ENCRYPTION_KEYS as string | undefined;
  const activeRaw = values.ENCRYPTION_ACTIVE_KEY_ID as string | undefined;
  if (keysRaw) {
    const keys = new Map<string, Buffer>();
    for (const entry of keysRaw.split(',')) {
      const [id, key] = entry.trim().split(':') as [string, string];
      if (keys.has(id))
        problems.push({
          variable: 'ENCRYPTION_KEYS',
          expects: 'unique key ids',
          problem: `key id "${id}" appears twice`,
        });
      keys.set(id, Buffer.from(key, 'base64'));
    }
    const activeKeyId = activeRaw ?? [...keys.keys()][0]!;
    if (!keys.has(activeKeyId)) {
      problems.push({
        variable: 'ENCRYPTION_ACTIVE_KEY_ID',
        expects: 'a key id present in ENCRYPTION_KEYS',
        problem: `"${activeKeyId}" is not one of ${[...keys.keys()].join(', ')}`,
      });
    }
    encryption = { keys, activeKeyId };
  } else if (activeRaw) {
    problems.push({
      variable: 'ENCRYPTION_ACTIVE_KEY_ID',
      expects: 'a key id present in ENCRYPTION_KEYS',
      problem: 'set, but ENCRYPTION_KEYS is not',
    });
  }

  if (problems.length > 0) throw configError(problems);

  return Object.freeze({
    host: pick('HOST', DEFAULTS.host),
    port: pick('PORT', DEFAULTS.port),
    logLevel: pick('LOG_LEVEL', DEFAULTS.logLevel),
    dataDir: path.resolve(cwd, pick('DATA_DIR', DEFAULTS.dataDir)),
    role: pick('HERALD_ROLE', DEFAULTS.role),
    databaseUrl: values.DATABASE_URL as string | undefined,
    databasePoolMax: pick('DATABASE_POOL_MAX', DEFAULTS.databasePoolMax),
    redisUrl: pick('REDIS_URL', DEFAULTS.redisUrl),
    redisAutostart: pick('REDIS_AUTOSTART', DEFAULTS.redisAutostart),
    chromaUrl: values.CHROMA_URL as string | undefined,
    ollamaUrl: values.OLLAMA_URL as string | undefined,
    encryption,
    shutdownTimeoutMs: pick('SHUTDOWN_TIMEOUT_MS', DEFAULTS.shutdownTimeoutMs),
    childStartTimeoutMs: pick('CHILD_START_TIMEOUT_MS', DEFAULTS.childStartTimeoutMs),
    queuePrefix: pick('QUEUE_PREFIX', DEFAULTS.queuePrefix),
    publish: Object.freeze({
      concurrency: pick('PUBLISH_CONCURRENCY', DEFAULTS.publishConcurrency),
      maxAttempts: pick('PUBLISH_MAX_ATTEMPTS', DEFAULTS.publishMaxAttempts),
      backoffMs: pick('PUBLISH_BACKOFF_MS', DEFAULTS.publishBackoffMs),
      jobLockMs: pick('JOB_LOCK_MS', DEFAULTS.jobLockMs),
      stalledIntervalMs: pick('JOB_STALLED_INTERVAL_MS', DEFAULTS.jobStalledIntervalMs),
      accountLeaseMs: pick('ACCOUNT_LEASE_MS', DEFAULTS.accountLeaseMs),
      reconcileIntervalMs: pick('RECONCILE_INTERVAL_MS', DEFAULTS.reconcileIntervalMs),
      connectorTimeoutMs: pick('CONNECTOR_TIMEOUT_MS', DEFAULTS.connectorTimeoutMs),
    }),
  });
}

function configError(problems: ConfigProblem[]): HeraldError {
  const lines = problems.map((p) => `  ${p.variable}: ${p.problem} (expects ${p.expects})`);
  return new HeraldError('config_invalid', {
    message: `Invalid configuration, ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${lines.join('\n')}`,
    details: { problems },
  });
}

/** A log-safe view of the config: URLs lose their credentials, keys are reduced to their ids. */
export function redactedConfig(config: Config): Record<string, unknown> {
  const stripCredentials = (u: string | undefined) => {
    if (!u) return u;
    const parsed = new URL(u);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  };
  return {
    ...config,
    databaseUrl: stripCredentials(config.databaseUrl),
    redisUrl: stripCredentials(config.redisUrl),
    chromaUrl: stripCredentials(config.chromaUrl),
    encryption: config.encryption
      ? { keyIds: [...config.encryption.keys.keys()], activeKeyId: config.encryption.activeKeyId }
      : 'data-dir key file',
  };
}
