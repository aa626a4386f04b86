/**
 * Every environment variable Herald reads, as data: name, what it expects, its default and
 * a one-line description. The README's configuration table is checked against this list
 * by a test, so adding a variable here without documenting it fails the build.
 */
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ROLES = ['all', 'api', 'worker'] as const;

/** Default values, named so code and docs share them. */
export const DEFAULTS = {
  host: '127.0.0.1',
  port: 3000,
  logLevel: 'info',
  dataDir: './data',
  role: 'all',
  databasePoolMax: 10,
  redisUrl: 'redis://127.0.0.1:6379',
  redisAutostart: true,
  shutdownTimeoutMs: 10_000,
  childStartTimeoutMs: 20_000,
  queuePrefix: 'herald',
  publishConcurrency: 16,
  publishMaxAttempts: 8,
  publishBackoffMs: 2_000,
  jobLockMs: 30_000,
  jobStalledIntervalMs: 15_000,
  accountLeaseMs: 10_000,
  reconcileIntervalMs: 30_000,
  connectorTimeoutMs: 15_000,
} as const;

const port = z.coerce
  .number({ error: 'expected an integer port 1-65535' })
  .int('expected an integer port 1-65535')
  .min(1, 'expected an integer port 1-65535')
  .max(65535, 'expected an integer port 1-65535');

const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `expected ${what}` })
    .int(`expected ${what}`)
    .positive(`expected ${what}`);

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    },
    { error: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

const encryptionKeys = z.string().refine(
  (v) =>
    v.split(',').every((entry) => {
      const [id, key, ...rest] = entry.trim().split(':');
      return (
        rest.length === 0 &&
        !!id &&
        /^[A-Za-z0-9_-]{1,32}$/.test(id) &&
        !!key &&
        Buffer.from(key, 'base64').length === 32
      );
    }),
  { error: 'expected a comma list of keyid:base64 entries, each key exactly 32 bytes' },
);

export interface VariableDoc {
  /** Environment variable name. */
  name: string;
  /** What a valid value looks like (shown in the README and in start-up errors). */
  expects: string;
  /** Default, as shown in the README ("unset" when there is none). */
  default: string;
  description: string;
  schema: z.ZodType;
}

export const VARIABLES: readonly VariableDoc[] = [
  {
    name: 'HOST',
    expects: 'an interface address',
    default: DEFAULTS.host,
    description: 'Address the HTTP server binds to; `0.0.0.0` in containers.',
    schema: z.string().min(1, 'expected an interface address'),
  },
  {
    name: 'PORT',
    expects: 'integer 1-65535',
    default: String(DEFAULTS.port),
    description: 'HTTP port for the API, the WebSocket and `/health` + `/ready`.',
    schema: port,
  },
  {
    name: 'LOG_LEVEL',
    expects: LOG_LEVELS.join(' | '),
    default: DEFAULTS.logLevel,
    description: 'pino log level. Logs are JSON lines on stdout.',
    schema: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }),
  },
  {
    name: 'DATA_DIR',
    expects: 'a directory path',
    default: DEFAULTS.dataDir,
    description: 'Where embedded services keep their files: `pg/` (PGlite), `redis/`, `chroma/`, `keys.json`.',
    schema: z.string().min(1, 'expected a directory path'),
  },
  {
    name: 'HERALD_ROLE',
    expects: ROLES.join(' | '),
    default: DEFAULTS.role,
    description: '`all` runs API and workers in one process; `api` and `worker` split them for scaling out.',
    schema: z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` }),
  },
  {
    name: 'DATABASE_URL',
    expects: 'postgres://user:pass@host:port/db',
    default: 'unset (embedded PGlite in `DATA_DIR/pg`)',
    description: 'PostgreSQL connection. Unset runs the same schema on embedded PGlite.',
    schema: url(['postgres:', 'postgresql:']).optional(),
  },
  {
    name: 'DATABASE_POOL_MAX',
    expects: 'positive integer',
    default: String(DEFAULTS.databasePoolMax),
    description: 'Maximum PostgreSQL connections per process.',
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'REDIS_URL',
    expects: 'redis://[user:pass@]host:port[/db] or rediss://',
    default: DEFAULTS.redisUrl,
    description: 'Redis for BullMQ queues, rate limits and WebSocket fan-out.',
    schema: url(['redis:', 'rediss:']),
  },
  {
    name: 'REDIS_AUTOSTART',
    expects: 'true | false',
    default: String(DEFAULTS.redisAutostart),
    description:
      'When nothing answers at a loopback `REDIS_URL` and `redis-server` is on PATH, start one (AOF on, files in `DATA_DIR/redis`) and stop it on exit.',
    schema: boolean,
  },
  {
    name: 'CHROMA_URL',
    expects: 'http(s)://host:port',
    default: 'unset (Chroma started from the `chromadb` package, files in `DATA_DIR/chroma`)',
    description: 'Chroma server for the knowledge base.',
    schema: url(['http:', 'https:']).optional(),
  },
  {
    name: 'OLLAMA_URL',
    expects: 'http(s)://host:port',
    default: 'unset',
    description:
      'Local Ollama server for the local models. `/ready` reports whether it answers; Herald is ready without it.',
    schema: url(['http:', 'https:']).optional(),
  },
  {
    name: 'ENCRYPTION_KEYS',
    expects: 'keyid:base64key[,keyid:base64key...] (32-byte keys)',
    default: 'unset (a key is generated once into `DATA_DIR/keys.json`, mode 0600)',
    description:
      'Keys that encrypt platform tokens at rest (AES-256-GCM). Add a new key first to rotate; old keys keep decrypting.',
    schema: encryptionKeys.optional(),
  },
  {
    name: 'ENCRYPTION_ACTIVE_KEY_ID',
    expects: 'a key id present in ENCRYPTION_KEYS',
    default: 'the first key in ENCRYPTION_KEYS',
    description: 'Key used for new ciphertexts.',
    schema: z.string().min(1).optional(),
  },
  {
    name: 'SHUTDOWN_TIMEOUT_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.shutdownTimeoutMs),
    description: 'How long SIGTERM waits for in-flight work before forcing exit.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'CHILD_START_TIMEOUT_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.childStartTimeoutMs),
    description: 'How long to wait for an embedded Redis or Chroma to answer after spawning it.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'QUEUE_PREFIX',
    expects: 'letters, digits, - or _',
    default: DEFAULTS.queuePrefix,
    description: 'Prefix of every BullMQ key in Redis, so several Herald installs can share one Redis.',
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'expected letters, digits, - or _'),
  },
  {
    name: 'PUBLISH_CONCURRENCY',
    expects: 'positive integer',
    default: String(DEFAULTS.publishConcurrency),
    description: 'Publish jobs one worker process runs at once (per-account limits still apply).',
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'PUBLISH_MAX_ATTEMPTS',
    expects: 'positive integer',
    default: String(DEFAULTS.publishMaxAttempts),
    description:
      'Tries per post for transient errors (rate-limit waits do not count) before it is failed or unconfirmed.',
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'PUBLISH_BACKOFF_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.publishBackoffMs),
    description: 'First retry delay after a transient error; doubles each try, with jitter.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'JOB_LOCK_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.jobLockMs),
    description:
      "How long a job stays locked to a worker without renewal; after it, a dead worker's job is taken over.",
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'JOB_STALLED_INTERVAL_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.jobStalledIntervalMs),
    description: 'How often workers look for jobs whose worker died.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'ACCOUNT_LEASE_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.accountLeaseMs),
    description:
      "Lease on an account's publishing slot, renewed while a call runs; bounds how long a killed worker can block an account.",
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'RECONCILE_INTERVAL_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.reconcileIntervalMs),
    description: 'How often due posts without a queue job (Redis lost data, dropped jobs) are found and queued.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'CONNECTOR_TIMEOUT_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.connectorTimeoutMs),
    description: 'Deadline for one call to a platform API; a call that times out is looked up before any retry.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
];
