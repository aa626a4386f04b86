/**
 * Every environment variable Herald reads, as data: name, what it expects, its default and
 * a one-line description. The README's configuration table is checked against this list
 * by a test, so adding a variable here without documenting it fails the build.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { isOutboundAllowEntry } from '../net/outbound.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const ROLES = ['all', 'api', 'worker'] as const;
export const VOICE_STT_ENGINES = [
  'none',
  'openai',
  'openai-realtime',
  'groq',
  'whisper-server',
  'whisper-cli',
] as const;
export const VOICE_TTS_ENGINES = ['none', 'espeak', 'openai'] as const;

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
  shutdownDrainMs: 2_000,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 120_000,
  httpIdleTimeoutMs: 60_000,
  childStartTimeoutMs: 20_000,
  startupRetryMs: 60_000,
  trustProxy: 'false',
  queuePrefix: 'herald',
  publishConcurrency: 16,
  publishMaxAttempts: 8,
  publishBackoffMs: 2_000,
  jobLockMs: 30_000,
  jobStalledIntervalMs: 15_000,
  accountLeaseMs: 10_000,
  reconcileIntervalMs: 30_000,
  connectorTimeoutMs: 15_000,
  linkedinScopes: 'openid profile w_member_social',
  linkedinVersion: '202610',
  xApiAccess: 'self-serve',
  accessTokenTtlS: 900,
  refreshTokenTtlS: 30 * 24 * 3600,
  bodyLimitBytes: 1024 * 1024,
  rateLimitPerMinute: 1200,
  linksRateLimitPerMinute: 120,
  linksUniqueWindowMinutes: 60,
  mcpSessions: 'stateless',
  mcpSessionIdleS: 1800,
  mcpOauthAccessTtlS: 900,
  wsMaxConnectionsPerUser: 20,
  wsMaxFrameBytes: 256 * 1024,
  wsMaxBufferedBytes: 1024 * 1024,
  wsHeartbeatMs: 30_000,
  mediaMaxBytes: 25 * 1024 * 1024,
  s3Region: 'us-east-1',
  s3ForcePathStyle: false,
  corsOrigins: '',
  modelFirstTokenTimeoutMs: 20_000,
  modelBreakerFailures: 3,
  modelBreakerCooldownMs: 30_000,
  agentSummaryAfterTokens: 6_000,
  agentSummaryKeepMessages: 8,
  agentTools: 'select' as 'select' | 'fit' | 'all',
  agentToolBudgetTokens: 3_000,
  knowledgeEmbedder: 'lexical',
  knowledgeMaxBytes: 5 * 1024 * 1024,
  knowledgeUploadMaxBytes: 20 * 1024 * 1024,
  knowledgeFetchTimeoutMs: 15_000,
  voiceStt: 'none',
  voiceSttModel: 'whisper-1',
  voiceSttGroqModel: 'whisper-large-v3-turbo',
  voiceSttRealtimeModel: 'gpt-realtime-whisper',
  voiceSttTimeoutMs: 10_000,
  whisperCppBin: 'whisper-cli',
  voiceTts: 'espeak',
  voiceTtsModel: 'tts-1',
  voiceTtsVoice: 'en-us',
  voiceVadPositive: 0.5,
  voiceVadNegative: 0.35,
  voicePreSpeechMs: 300,
  voiceEndSilenceMs: 600,
  voiceMaxUtteranceMs: 30_000,
  voicePartialIntervalMs: 0,
  voiceSpeculativePauseMs: 200,
  voiceCompleteSilenceMs: 400,
  voiceIncompleteSilenceMs: 1500,
  voiceMaxEndSilenceMs: 1500,
  voiceBargeInMinSpeechMs: 250,
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

/** An Ollama model name as the pull route takes it (`qwen2.5:7b`, `library/llama3.2:3b`). */
export const OLLAMA_MODEL_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:]*$/;

const probability = z.coerce
  .number({ error: 'expected a number between 0 and 1' })
  .min(0, 'expected a number between 0 and 1')
  .max(1, 'expected a number between 0 and 1');

export interface VariableDoc {
  /** Environment variable name. */
  name: string;
  /**
   * Holds a secret (or a URL that may carry one): never echoed in errors, and may be read
   * from the file named by `<name>_FILE` (Docker and Kubernetes secrets). Names ending in
   * `_API_KEY`, `_SECRET`, `_TOKEN`, `_PASSWORD` or `_KEYS` count as secrets without it.
   */
  secret?: boolean;
  /** What a valid value looks like (shown in the README and in start-up errors). */
  expects: string;
  /** Default, as shown in the README ("unset" when there is none). */
  default: string;
  description: string;
  schema: z.ZodType;
}

const SECRET_NAME = /(_API_KEY|_SECRET|_SECRET_ACCESS_KEY|_TOKEN|_PASSWORD|_KEYS)$/;

/** Whether a variable holds a secret: never echoed in errors, and readable from `<name>_FILE`. */
export function isSecret(v: Pick<VariableDoc, 'name' | 'secret'>): boolean {
  return v.secret ?? SECRET_NAME.test(v.name);
}

const TRUST_PROXY_EXPECTS = 'false | true | proxy addresses or CIDRs';
/** proxy-addr's names for ranges (what Fastify compiles `trustProxy` with). */
const PROXY_RANGE_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const ipOrCidr = (entry: string): boolean => {
  if (PROXY_RANGE_NAMES.has(entry)) return true;
  const [address, bits, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
};
/**
 * Fastify's `trustProxy`: false, true (every hop), or the proxies' addresses. Fastify treats
 * a hop count as "trust nothing" (it cannot check the nearest peer), so counts are not offered.
 */
const trustProxy = z
  .string()
  .transform((v): boolean | string[] => {
    if (v === 'false') return false;
    if (v === 'true') return true;
    return v.split(',').map((e) => e.trim());
  })
  .refine((v) => !Array.isArray(v) || (v.length > 0 && v.every(ipOrCidr)), {
    error: `expected ${TRUST_PROXY_EXPECTS}`,
  });

const OUTBOUND_ALLOW_EXPECTS = 'CIDRs or range names, comma-separated | any';
const outboundAllow = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== ''),
  )
  .refine((v) => v.every(isOutboundAllowEntry), { error: `expected ${OUTBOUND_ALLOW_EXPECTS}` });

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
    name: 'PUBLIC_URL',
    expects: 'https://herald.example.com',
    default: 'unset (each redirect URI set on its own)',
    description:
      'Address people and platforms reach Herald at (the TLS proxy in front of it). Default of `X_REDIRECT_URI`, `LINKEDIN_REDIRECT_URI` and `MASTODON_REDIRECT_URI` (`<PUBLIC_URL>/v1/social-accounts/callback`) and the server listed in the OpenAPI document.',
    schema: url(['http:', 'https:']).transform((v) => v.replace(/\/+$/, '')),
  },
  {
    name: 'TRUST_PROXY',
    expects: TRUST_PROXY_EXPECTS,
    default: DEFAULTS.trustProxy,
    description:
      "Which proxies' `X-Forwarded-For`/`-Proto`/`-Host` to believe, so per-address rate limits and logs see the client, not the proxy: their addresses or CIDRs, `loopback` (a proxy on the same host), `uniquelocal` (private ranges, e.g. a Docker network), or `true` (anyone: only when nothing else can reach Herald).",
    schema: trustProxy,
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
    secret: true,
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
    secret: true,
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
    name: 'KNOWLEDGE_EMBEDDER',
    expects: 'lexical | ollama:<model> | openai:<model>',
    default: DEFAULTS.knowledgeEmbedder,
    description:
      'How the knowledge base embeds text, for workspaces that chose no embedder of their own (`PUT /v1/knowledge/embedder`): `lexical` (offline feature hashing — keyword-like, not semantic), an Ollama embedding model at `OLLAMA_URL` (`ollama:nomic-embed-text`), or a model of the OpenAI-compatible endpoint (`openai:text-embedding-3-small`, with `OPENAI_BASE_URL`/`OPENAI_API_KEY`).',
    schema: z
      .string()
      .regex(/^(lexical|(ollama|openai):\S+)$/, { error: 'expected lexical, ollama:<model> or openai:<model>' }),
  },
  {
    name: 'KNOWLEDGE_MAX_BYTES',
    expects: 'integer bytes',
    default: String(DEFAULTS.knowledgeMaxBytes),
    description: "Largest knowledge source: a text's size, or a fetched page's.",
    schema: positiveInt('a positive integer number of bytes'),
  },
  {
    name: 'KNOWLEDGE_UPLOAD_MAX_BYTES',
    expects: 'integer bytes',
    default: String(DEFAULTS.knowledgeUploadMaxBytes),
    description:
      'Largest file uploaded to the knowledge base (PDF, CSV, text); its extracted text must still fit `KNOWLEDGE_MAX_BYTES`.',
    schema: positiveInt('a positive integer number of bytes'),
  },
  {
    name: 'KNOWLEDGE_FETCH_TIMEOUT_MS',
    expects: 'integer ms',
    default: String(DEFAULTS.knowledgeFetchTimeoutMs),
    description: 'Deadline for fetching a knowledge source URL.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'OUTBOUND_ALLOW',
    expects: OUTBOUND_ALLOW_EXPECTS,
    default: 'unset (public addresses only)',
    description:
      'Addresses beyond the public internet that URLs people give Herald (knowledge pages and feeds, product pages, Mastodon instances, Bluesky handles, `did:web` hosts and the PDSes DID documents name) may lead to: CIDRs, `loopback`, `private`, `linklocal`, `uniquelocal`, or `any`. Unset, a URL that resolves or redirects to a loopback, private, link-local or metadata address is refused (`knowledge_fetch_failed`, `details.reason` `address_refused`). Platform and model URLs you configure are not affected.',
    schema: outboundAllow,
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
    name: 'GROQ_API_KEY',
    expects: 'a Groq API key',
    default: 'unset (no Groq models)',
    description: 'Enables the Groq models of the registry. Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'GROQ_BASE_URL',
    expects: 'http(s)://host[:port]',
    default: 'unset (https://api.groq.com)',
    description: 'Another Groq-compatible endpoint (the SDK adds `/openai/v1/...`).',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'ANTHROPIC_API_KEY',
    expects: 'an Anthropic API key',
    default: 'unset (no Anthropic models)',
    description: 'Enables the Anthropic (Claude) models of the registry. Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'ANTHROPIC_BASE_URL',
    expects: 'http(s)://host[:port]',
    default: 'unset (https://api.anthropic.com)',
    description: 'Another Anthropic-compatible endpoint or a proxy (the SDK adds `/v1/messages`).',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'OPENAI_API_KEY',
    expects: 'an API key',
    default: 'unset',
    description: 'Key for the OpenAI-compatible endpoint (OpenAI, Perplexity, Gemini...). Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'OPENAI_BASE_URL',
    expects: 'http(s)://host[:port]/v1',
    default: 'unset (https://api.openai.com/v1)',
    description:
      'Any OpenAI-compatible endpoint: vLLM, LM Studio, Perplexity, Gemini. Set alone (no key) for local servers; see `docs/models.md`.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'MODELS_FILE',
    expects: 'a JSON file path',
    default: 'unset (built-in registry)',
    description:
      'Adds, overrides or disables registry entries (context window, prices, tier, tool calling); format in `docs/models.md`.',
    schema: z.string().min(1),
  },
  {
    name: 'MODEL_PULL_ALLOWLIST',
    expects: 'comma-separated Ollama model names',
    default: 'unset (only `INSTANCE_ADMINS` may pull)',
    description:
      'Models a workspace admin may pull into Ollama (`POST /v1/models/pull`), e.g. `llama3.2:3b,qwen2.5:7b`. Sign-up is open, so pulling anything else (disk, bandwidth, a busy Ollama) is for instance admins.',
    schema: z.string().refine((v) => v.split(',').every((m) => OLLAMA_MODEL_NAME.test(m.trim()) || m.trim() === ''), {
      error: 'expected a comma list of Ollama model names such as qwen2.5:7b',
    }),
  },
  {
    name: 'INSTANCE_ADMINS',
    expects: 'comma-separated user ids',
    default: 'unset (none)',
    description:
      'Users who administer this Herald instance, not just a workspace (their `userId` from the sign-up or login answer, or `GET /v1/members`): they may pull any Ollama model. Ids, not emails: sign-up is open and an email is only a claim.',
    schema: z
      .string()
      .refine((v) => v.split(',').every((id) => z.uuid().safeParse(id.trim()).success || id.trim() === ''), {
        error: 'expected a comma list of user ids (UUIDs)',
      }),
  },
  {
    name: 'MODEL_FIRST_TOKEN_TIMEOUT_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.modelFirstTokenTimeoutMs),
    description: 'A model that sends no token within this time is abandoned for the next candidate.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'MODEL_BREAKER_FAILURES',
    expects: 'positive integer',
    default: String(DEFAULTS.modelBreakerFailures),
    description: "Consecutive failures that open a provider's circuit breaker (its models are skipped).",
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'MODEL_BREAKER_COOLDOWN_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.modelBreakerCooldownMs),
    description: 'How long an open breaker skips its provider before one probe call is let through.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'AGENT_SUMMARY_AFTER_TOKENS',
    expects: 'positive integer (estimated tokens)',
    default: String(DEFAULTS.agentSummaryAfterTokens),
    description:
      "A conversation longer than this (about 4 characters a token) has its older messages summarised by the cheap model (the router's `summary` task) before the next model call.",
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'AGENT_SUMMARY_KEEP_MESSAGES',
    expects: 'positive integer',
    default: String(DEFAULTS.agentSummaryKeepMessages),
    description:
      'How many of the latest messages a summarised conversation keeps word for word (the cut falls before a user message).',
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'AGENT_TOOLS',
    expects: 'select, fit or all',
    default: DEFAULTS.agentTools,
    description:
      'Which tools a model call is given (docs/agent.md#tool-selection): `select` the core tools plus those the turn plausibly needs (`more_tools` reaches the rest); `fit` the same for routing, but a model whose window holds every tool gets them all; `all` every tool (about 10,000 tokens; an 8k-window model is skipped).',
    schema: z.enum(['select', 'fit', 'all'], { error: 'expected select, fit or all' }),
  },
  {
    name: 'AGENT_TOOL_BUDGET_TOKENS',
    expects: 'positive integer (estimated tokens)',
    default: String(DEFAULTS.agentToolBudgetTokens),
    description:
      "Tool definitions a selection adds beyond the core tools and the turn's own calls, at most (about 4 characters a token).",
    schema: positiveInt('a positive integer'),
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
    name: 'SHUTDOWN_DRAIN_MS',
    expects: 'integer ms (0 or more)',
    default: String(DEFAULTS.shutdownDrainMs),
    description:
      'After SIGTERM, how long the server keeps accepting connections to answer `/ready` 503 `draining` and new requests `503 shutting_down` (with `Connection: close`) before it stops listening; in-flight requests finish within `SHUTDOWN_TIMEOUT_MS`.',
    schema: z.coerce
      .number({ error: 'expected a non-negative integer of milliseconds' })
      .int('expected a non-negative integer of milliseconds')
      .min(0, 'expected a non-negative integer of milliseconds'),
  },
  {
    name: 'HTTP_HEADERS_TIMEOUT_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.httpHeadersTimeoutMs),
    description:
      'A request whose line and headers have not all arrived within this gets `408 request_timeout` and its connection is closed.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'HTTP_REQUEST_TIMEOUT_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.httpRequestTimeoutMs),
    description:
      'A request (headers and body, uploads included) that has not fully arrived within this gets `408 request_timeout` and its connection is closed.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'HTTP_IDLE_TIMEOUT_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.httpIdleTimeoutMs),
    description:
      'A kept-alive connection with no new request for this long is closed (a request still arriving is bounded by `HTTP_REQUEST_TIMEOUT_MS`; WebSockets keep alive with pings).',
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
    name: 'STARTUP_RETRY_MS',
    expects: 'integer ms, 0 for no retry',
    default: String(DEFAULTS.startupRetryMs),
    description:
      'How long start-up keeps retrying a PostgreSQL, Redis or Chroma that does not answer yet (one log line per wait) before it gives up and exits.',
    schema: z.coerce
      .number({ error: 'expected a non-negative integer of milliseconds' })
      .int('expected a non-negative integer of milliseconds')
      .min(0, 'expected a non-negative integer of milliseconds'),
  },
  {
    name: 'QUEUE_PREFIX',
    expects: 'letters, digits, - or _ (at most 32)',
    default: DEFAULTS.queuePrefix,
    description: 'Prefix of every BullMQ key in Redis, so several Herald installs can share one Redis.',
    schema: z
      .string()
      .max(32, 'expected at most 32 characters')
      .regex(/^[A-Za-z0-9_-]+$/, 'expected only letters, digits, - or _'),
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
  {
    name: 'JWT_SECRET',
    expects: 'at least 32 characters',
    default: 'derived from the encryption key',
    description:
      'Signs access tokens (HS256). Unset: derived (HKDF) from the active encryption key, so every node of one install agrees.',
    schema: z.string().min(32, 'expected at least 32 characters'),
  },
  {
    name: 'ACCESS_TOKEN_TTL_S',
    expects: 'positive integer (s)',
    default: String(DEFAULTS.accessTokenTtlS),
    description: 'Lifetime of an access token (JWT).',
    schema: positiveInt('a positive integer of seconds'),
  },
  {
    name: 'REFRESH_TOKEN_TTL_S',
    expects: 'positive integer (s)',
    default: String(DEFAULTS.refreshTokenTtlS),
    description: 'Lifetime of a refresh token; each use rotates it, and reusing a rotated one revokes the session.',
    schema: positiveInt('a positive integer of seconds'),
  },
  {
    name: 'BODY_LIMIT_BYTES',
    expects: 'positive integer (bytes)',
    default: String(DEFAULTS.bodyLimitBytes),
    description: 'Largest JSON request body; larger bodies get `413 payload_too_large`.',
    schema: positiveInt('a positive integer of bytes'),
  },
  {
    name: 'RATE_LIMIT_PER_MINUTE',
    expects: 'positive integer',
    default: String(DEFAULTS.rateLimitPerMinute),
    description: 'Requests per minute per user or API key (per client address before sign-in), counted in Redis.',
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'LINKS_BASE_URL',
    expects: 'https://go.example.com',
    default: '`PUBLIC_URL`, else `http://<HOST>:<PORT>`',
    description:
      'Custom short domain of tracked links (docs/links.md): short URLs are `<LINKS_BASE_URL>/l/<code>`. Point the domain at Herald (its proxy forwards `/l/`).',
    schema: url(['http:', 'https:']).transform((v) => v.replace(/\/+$/, '')),
  },
  {
    name: 'LINKS_RATE_LIMIT_PER_MINUTE',
    expects: 'positive integer',
    default: String(DEFAULTS.linksRateLimitPerMinute),
    description: 'Tracked-link redirects (`GET /l/:code`) per minute per client address; more get `429 rate_limited`.',
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'LINKS_JOURNAL_DIR',
    expects: 'a directory path',
    default: '`<DATA_DIR>/clicks`',
    description:
      'Where each API process appends the clicks it answers before they reach Redis (docs/links.md#durability); a restarted process ships what a killed one left there. Keep it on a disk that outlives the process.',
    schema: z.string().min(1, 'expected a directory path'),
  },
  {
    name: 'LINKS_UNIQUE_WINDOW_MINUTES',
    expects: 'integer 1-1440',
    default: String(DEFAULTS.linksUniqueWindowMinutes),
    description:
      'Repeat clicks by one visitor on one link within this many minutes count once as unique (the visitor hash also changes at 00:00 UTC).',
    schema: positiveInt('an integer of minutes 1-1440').max(1440, 'expected an integer of minutes 1-1440'),
  },
  {
    name: 'MCP_SESSIONS',
    expects: 'stateless or stateful',
    default: DEFAULTS.mcpSessions,
    description:
      '`/mcp` (docs/mcp.md): `stateless` answers every POST on its own (any API process, no sticky routing, no server-to-client stream); `stateful` opens an `Mcp-Session-Id` session held in the process that answered `initialize` (GET stream, DELETE; needs sticky routing across processes).',
    schema: z.enum(['stateless', 'stateful'], { error: 'expected stateless or stateful' }),
  },
  {
    name: 'MCP_SESSION_IDLE_S',
    expects: 'positive integer (seconds)',
    default: String(DEFAULTS.mcpSessionIdleS),
    description:
      'With `MCP_SESSIONS=stateful`: a session without a request for this long is closed (`404 mcp_session_not_found`).',
    schema: positiveInt('a positive integer of seconds'),
  },
  {
    name: 'MCP_OAUTH_ACCESS_TTL_S',
    expects: 'positive integer (seconds)',
    default: String(DEFAULTS.mcpOauthAccessTtlS),
    description:
      'Lifetime of the OAuth access tokens Herald issues to MCP clients (refresh tokens last `REFRESH_TOKEN_TTL_S` and rotate on each use).',
    schema: positiveInt('a positive integer of seconds'),
  },
  {
    name: 'WS_MAX_CONNECTIONS_PER_USER',
    expects: 'positive integer',
    default: String(DEFAULTS.wsMaxConnectionsPerUser),
    description: 'Open WebSocket connections one user or API key may hold on one node.',
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'WS_MAX_FRAME_BYTES',
    expects: 'positive integer (bytes)',
    default: String(DEFAULTS.wsMaxFrameBytes),
    description: 'Largest WebSocket message accepted; a larger one closes the connection with 1009.',
    schema: positiveInt('a positive integer of bytes'),
  },
  {
    name: 'WS_MAX_BUFFERED_BYTES',
    expects: 'positive integer (bytes)',
    default: String(DEFAULTS.wsMaxBufferedBytes),
    description: 'Unsent bytes a slow WebSocket client may fall behind by before it is closed with 4008.',
    schema: positiveInt('a positive integer of bytes'),
  },
  {
    name: 'WS_HEARTBEAT_MS',
    expects: 'positive integer (ms)',
    default: String(DEFAULTS.wsHeartbeatMs),
    description: 'Interval of WebSocket pings; a client that misses two is dropped.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'MEDIA_MAX_BYTES',
    expects: 'positive integer (bytes)',
    default: String(DEFAULTS.mediaMaxBytes),
    description: 'Largest media upload; a larger one gets `413 payload_too_large` and nothing is stored.',
    schema: positiveInt('a positive integer of bytes'),
  },
  {
    name: 'S3_BUCKET',
    expects: 'an S3 bucket name',
    default: 'unset (media on local disk in `DATA_DIR/media`)',
    description: 'Store media in this S3-compatible bucket instead of on local disk (see `docs/media.md`).',
    schema: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 of a-z 0-9 . -)'),
  },
  {
    name: 'S3_REGION',
    expects: 'a region name',
    default: DEFAULTS.s3Region,
    description: 'Region of the bucket (S3-compatible servers usually accept any).',
    schema: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'expected a region name such as eu-west-3'),
  },
  {
    name: 'S3_ENDPOINT',
    expects: 'http(s)://host[:port]',
    default: 'unset (AWS S3)',
    description: 'Endpoint of an S3-compatible server (MinIO, R2, B2, Garage...).',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'S3_ACCESS_KEY_ID',
    secret: true,
    expects: 'an access key id',
    default: "unset (the AWS SDK's default chain)",
    description:
      'Access key for the bucket, set together with `S3_SECRET_ACCESS_KEY`. Unset: instance or task role, `AWS_*` variables, `~/.aws`.',
    schema: z.string().min(1),
  },
  {
    name: 'S3_SECRET_ACCESS_KEY',
    expects: 'a secret access key',
    default: 'unset',
    description: 'Secret for `S3_ACCESS_KEY_ID`. Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'S3_FORCE_PATH_STYLE',
    expects: 'true | false',
    default: String(DEFAULTS.s3ForcePathStyle),
    description: 'Address the bucket in the path (`host/bucket/key`), as MinIO and most self-hosted servers need.',
    schema: boolean,
  },
  {
    name: 'BLUESKY_OAUTH_KEY',
    secret: true,
    expects: 'an ES256 (P-256) private key: PKCS#8 PEM or JWK JSON',
    default: 'unset (with no PUBLIC_URL: a loopback OAuth client for development; else app passwords only)',
    description:
      'With an https `PUBLIC_URL`, Herald connects Bluesky accounts with OAuth as a confidential client (`private_key_jwt`): client metadata at `<PUBLIC_URL>/oauth/bluesky/client-metadata.json`, keys at `/oauth/bluesky/jwks.json`, callback `/oauth/bluesky/callback` (see `docs/connectors.md#bluesky-oauth`). Never logged.',
    schema: z
      .string()
      .trim()
      .refine((v) => v.startsWith('-----BEGIN') || v.startsWith('{'), { error: 'expected a PEM or JWK private key' }),
  },
  {
    name: 'X_CLIENT_ID',
    expects: "an X app's OAuth 2.0 client id",
    default: 'unset (X accounts cannot be connected)',
    description:
      'With `X_CLIENT_SECRET` and `X_REDIRECT_URI`, lets people connect X accounts (see `docs/connectors.md`).',
    schema: z.string().min(1),
  },
  {
    name: 'X_CLIENT_SECRET',
    expects: "the app's OAuth 2.0 client secret",
    default: 'unset',
    description: 'Secret of `X_CLIENT_ID` (Herald is a confidential client). Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'X_REDIRECT_URI',
    expects: 'https://your-herald/v1/social-accounts/callback',
    default: '`<PUBLIC_URL>/v1/social-accounts/callback`, or unset',
    description: "Callback URL registered in the X app's settings; must reach Herald's `/v1/social-accounts/callback`.",
    schema: url(['http:', 'https:']),
  },
  {
    name: 'X_API_URL',
    expects: 'http(s)://host[:port]',
    default: 'unset (https://api.x.com, authorize at https://x.com)',
    description: 'Another X API base URL (a test double); the authorize page is then `<X_API_URL>/i/oauth2/authorize`.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'X_API_ACCESS',
    expects: 'self-serve | enterprise',
    default: DEFAULTS.xApiAccess,
    description:
      "The X app's API access: `self-serve` (pay-per-use, Basic, Pro) has no quote posts and replies only where summoned, so quote drafts are refused at schedule time; `enterprise` has both.",
    schema: z.enum(['self-serve', 'enterprise'], { error: 'expected self-serve or enterprise' }),
  },
  {
    name: 'LINKEDIN_CLIENT_ID',
    expects: "a LinkedIn app's client id",
    default: 'unset (LinkedIn accounts cannot be connected)',
    description:
      'With `LINKEDIN_CLIENT_SECRET` and `LINKEDIN_REDIRECT_URI`, lets people connect LinkedIn accounts (see `docs/connectors.md`).',
    schema: z.string().min(1),
  },
  {
    name: 'LINKEDIN_CLIENT_SECRET',
    expects: "the app's client secret",
    default: 'unset',
    description: 'Secret of `LINKEDIN_CLIENT_ID` (Herald is a confidential client). Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'LINKEDIN_REDIRECT_URI',
    expects: 'https://your-herald/v1/social-accounts/callback',
    default: '`<PUBLIC_URL>/v1/social-accounts/callback`, or unset',
    description:
      "Redirect URL listed in the LinkedIn app's Auth settings; must reach Herald's `/v1/social-accounts/callback`.",
    schema: url(['http:', 'https:']),
  },
  {
    name: 'LINKEDIN_SCOPES',
    expects: 'space-separated OAuth scopes',
    default: DEFAULTS.linkedinScopes,
    description:
      "Scopes Herald asks for. Add `w_organization_social r_organization_social rw_organization_admin` to post as pages (the app needs LinkedIn's approval for them).",
    schema: z.string().regex(/^[\w.]+( [\w.]+)*$/, 'expected scopes separated by single spaces'),
  },
  {
    name: 'LINKEDIN_VERSION',
    expects: 'YYYYMM',
    default: DEFAULTS.linkedinVersion,
    description:
      'The `LinkedIn-Version` header sent on every REST call (LinkedIn supports each monthly version for a year).',
    schema: z.string().regex(/^20\d{2}(0[1-9]|1[0-2])$/, 'expected a version as YYYYMM'),
  },
  {
    name: 'LINKEDIN_API_URL',
    expects: 'http(s)://host[:port]',
    default: 'unset (https://api.linkedin.com, OAuth at https://www.linkedin.com)',
    description: 'Another LinkedIn base URL (a test double) serving both the API and `/oauth/v2/*`.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'TIKTOK_CLIENT_KEY',
    expects: "a TikTok app's client key",
    default: 'unset (TikTok accounts cannot be connected)',
    description:
      'With `TIKTOK_CLIENT_SECRET` and `TIKTOK_REDIRECT_URI`, lets people connect TikTok accounts and post videos and photos (see `docs/connectors.md#tiktok`).',
    schema: z.string().min(1),
  },
  {
    name: 'TIKTOK_CLIENT_SECRET',
    expects: "the app's client secret",
    default: 'unset',
    description: 'Secret of `TIKTOK_CLIENT_KEY`. Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'TIKTOK_REDIRECT_URI',
    expects: 'https://your-herald/v1/social-accounts/callback',
    default: '`<PUBLIC_URL>/v1/social-accounts/callback`, or unset',
    description:
      "Redirect URI registered in the TikTok app's Login Kit settings; must reach Herald's `/v1/social-accounts/callback`.",
    schema: url(['http:', 'https:']),
  },
  {
    name: 'TIKTOK_AUDITED',
    expects: 'true | false',
    default: 'false',
    description:
      "The TikTok app passed TikTok's content-posting audit. Until then TikTok takes posts only as `SELF_ONLY` to private accounts, and Herald refuses anything else at schedule time.",
    schema: boolean,
  },
  {
    name: 'TIKTOK_API_URL',
    expects: 'http(s)://host[:port]',
    default: 'unset (https://open.tiktokapis.com, authorize at https://www.tiktok.com)',
    description: 'Another TikTok base URL (a test double) serving the API and `/v2/auth/authorize/`.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'YOUTUBE_CLIENT_ID',
    expects: 'a Google Cloud OAuth client id (web application) with the YouTube Data API v3 enabled',
    default: 'unset (YouTube channels cannot be connected)',
    description:
      'With `YOUTUBE_CLIENT_SECRET` and `YOUTUBE_REDIRECT_URI`, lets people connect YouTube channels and upload videos (see `docs/connectors.md#youtube`).',
    schema: z.string().min(1),
  },
  {
    name: 'YOUTUBE_CLIENT_SECRET',
    expects: "the OAuth client's secret",
    default: 'unset',
    description: 'Secret of `YOUTUBE_CLIENT_ID`. Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'YOUTUBE_REDIRECT_URI',
    expects: 'https://your-herald/v1/social-accounts/callback',
    default: '`<PUBLIC_URL>/v1/social-accounts/callback`, or unset',
    description:
      "An authorized redirect URI of the Google OAuth client; must reach Herald's `/v1/social-accounts/callback`.",
    schema: url(['http:', 'https:']),
  },
  {
    name: 'YOUTUBE_DAILY_UPLOADS',
    expects: 'a positive integer',
    default: '100',
    description:
      "`videos.insert` calls the Google Cloud project may make a day (YouTube's own bucket); Herald refuses an upload that would pass it, until midnight Pacific time.",
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'YOUTUBE_DAILY_UNITS',
    expects: 'a positive integer',
    default: '10000',
    description:
      'Quota units a day for every other YouTube call (thumbnails 50, deletes 50, reads 1), tracked the same way.',
    schema: positiveInt('a positive integer'),
  },
  {
    name: 'YOUTUBE_API_URL',
    expects: 'http(s)://host[:port]',
    default: 'unset (https://www.googleapis.com, OAuth at accounts.google.com and oauth2.googleapis.com)',
    description: 'Another base URL (a test double) serving the Data API, uploads, `/token` and `/o/oauth2/v2/auth`.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'PINTEREST_CLIENT_ID',
    expects: "a Pinterest app's id",
    default: 'unset (Pinterest accounts cannot be connected)',
    description:
      'With `PINTEREST_CLIENT_SECRET` and `PINTEREST_REDIRECT_URI`, lets people connect Pinterest accounts and create Pins (see `docs/connectors.md#pinterest`).',
    schema: z.string().min(1),
  },
  {
    name: 'PINTEREST_CLIENT_SECRET',
    expects: "the app's secret key",
    default: 'unset',
    description: 'Secret of `PINTEREST_CLIENT_ID`. Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'PINTEREST_REDIRECT_URI',
    expects: 'https://your-herald/v1/social-accounts/callback',
    default: '`<PUBLIC_URL>/v1/social-accounts/callback`, or unset',
    description: "Redirect URI registered in the Pinterest app; must reach Herald's `/v1/social-accounts/callback`.",
    schema: url(['http:', 'https:']),
  },
  {
    name: 'PINTEREST_API_URL',
    expects: 'http(s)://host[:port]',
    default: 'unset (https://api.pinterest.com, authorize at https://www.pinterest.com)',
    description: 'Another Pinterest base URL (a test double) serving `/v5/*` and `/oauth/`.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'INSTAGRAM_APP_ID',
    expects: 'the Instagram app id of a Meta app (App Dashboard > Instagram > API setup with Instagram login)',
    default: 'unset (Instagram accounts cannot be connected with Instagram Login)',
    description:
      'With `INSTAGRAM_APP_SECRET` and `PUBLIC_URL`, lets people connect Instagram professional accounts with Instagram Login (see `docs/connectors.md#instagram`). The callback is `<PUBLIC_URL>/v1/social-accounts/callback`.',
    schema: z.string().min(1),
  },
  {
    name: 'INSTAGRAM_APP_SECRET',
    secret: true,
    expects: 'the Instagram app secret',
    default: 'unset',
    description: 'Secret of `INSTAGRAM_APP_ID`. Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'INSTAGRAM_LOGIN',
    expects: 'instagram | facebook',
    default: 'instagram',
    description:
      '`instagram`: Instagram Login with `INSTAGRAM_APP_ID`; `facebook`: Facebook Login with `FACEBOOK_APP_ID` for accounts linked to a Facebook Page (their tokens are not refreshed: they reconnect within 60 days).',
    schema: z.enum(['instagram', 'facebook'], { error: 'expected instagram or facebook' }),
  },
  {
    name: 'INSTAGRAM_API_URL',
    expects: 'http(s)://host[:port]',
    default: 'unset (graph.instagram.com, api.instagram.com, www.instagram.com)',
    description:
      'One base URL (a test double) serving the Instagram Graph API, its token endpoints and authorize page.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'FACEBOOK_APP_ID',
    expects: "a Meta app's id (Facebook Login for Business)",
    default: 'unset (Facebook Pages cannot be connected)',
    description:
      'With `FACEBOOK_APP_SECRET` and `PUBLIC_URL`, lets people connect Facebook Pages (and Instagram accounts when `INSTAGRAM_LOGIN=facebook`); see `docs/connectors.md#facebook-pages`.',
    schema: z.string().min(1),
  },
  {
    name: 'FACEBOOK_APP_SECRET',
    secret: true,
    expects: "the Meta app's secret",
    default: 'unset',
    description: 'Secret of `FACEBOOK_APP_ID`. Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'FACEBOOK_API_URL',
    expects: 'http(s)://host[:port]',
    default: 'unset (graph.facebook.com, login dialog at www.facebook.com)',
    description: 'One base URL (a test double) serving the Graph API and the login dialog.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'THREADS_APP_ID',
    expects: 'the Threads app id of a Meta app (App Dashboard > Threads API)',
    default: 'unset (Threads profiles cannot be connected)',
    description:
      'With `THREADS_APP_SECRET` and `PUBLIC_URL`, lets people connect Threads profiles (see `docs/connectors.md#threads`).',
    schema: z.string().min(1),
  },
  {
    name: 'THREADS_APP_SECRET',
    secret: true,
    expects: 'the Threads app secret',
    default: 'unset',
    description: 'Secret of `THREADS_APP_ID`. Never logged.',
    schema: z.string().min(1),
  },
  {
    name: 'THREADS_API_URL',
    expects: 'http(s)://host[:port]',
    default: 'unset (graph.threads.net, authorize at threads.net)',
    description: 'One base URL (a test double) serving the Threads API, its token endpoints and authorize page.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'MASTODON_REDIRECT_URI',
    expects: 'https://your-herald/v1/social-accounts/callback',
    default: '`<PUBLIC_URL>/v1/social-accounts/callback`, or unset (no Mastodon)',
    description:
      'Callback URL Herald registers with each Mastodon instance it connects to (apps are registered on first use).',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'CONNECT_DONE_URL',
    expects: 'http(s)://page',
    default: 'unset (the callback answers JSON)',
    description:
      'Page the browser is sent to after connecting an account, with `status=connected&platform&accountId` or `status=error&code&message`.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'CORS_ORIGINS',
    expects: 'comma-separated origins, or *',
    default: 'unset (no cross-origin access)',
    description: 'Browser origins allowed to call the API, e.g. `https://app.example.com`.',
    schema: z.string(),
  },
  {
    name: 'METRICS_TOKEN',
    expects: 'at least 16 characters',
    default: 'unset (only loopback clients may scrape)',
    description:
      '`GET /metrics` (Prometheus) then requires `Authorization: Bearer <token>`. Unset: only loopback clients, others get 404.',
    schema: z.string().min(16, 'expected at least 16 characters'),
  },
  {
    name: 'TELEGRAM_BOT_TOKEN',
    expects: "the bot's token from @BotFather (`123456:ABC...`)",
    default: 'unset (no Telegram bot)',
    description:
      'Runs the Telegram bot (see `docs/channels.md`): by webhook when `TELEGRAM_WEBHOOK_SECRET` is set, else by long polling. Never logged.',
    schema: z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, 'expected a bot token such as 123456:ABC-DEF'),
  },
  {
    name: 'TELEGRAM_WEBHOOK_SECRET',
    expects: '1-256 characters of A-Z a-z 0-9 _ -',
    default: 'unset (long polling)',
    description:
      'The `secret_token` given to `setWebhook`: `POST /v1/channels/telegram/webhook` refuses requests without it in `X-Telegram-Bot-Api-Secret-Token`. Herald calls `setWebhook` at start when `PUBLIC_URL` is set.',
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'expected 1-256 characters of A-Z a-z 0-9 _ -'),
  },
  {
    name: 'TELEGRAM_API_URL',
    expects: 'http(s)://host[:port]',
    default: 'https://api.telegram.org',
    description: 'Bot API server (a self-hosted `telegram-bot-api`, or a test fake).',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'SLACK_BOT_TOKEN',
    expects: "the app's bot token (`xoxb-...`)",
    default: 'unset (no Slack app)',
    description:
      'With `SLACK_SIGNING_SECRET`, runs the Slack app on `POST /v1/channels/slack/events`; with `SLACK_APP_TOKEN`, over Socket Mode instead (see `docs/channels.md`). Never logged.',
    schema: z.string().regex(/^xox[bp]-[A-Za-z0-9-]+$/, 'expected a bot token such as xoxb-...'),
  },
  {
    name: 'SLACK_SIGNING_SECRET',
    expects: "the app's signing secret",
    default: 'unset',
    description:
      'Checks the signature of every request Slack sends (Basic Information → App Credentials). Never logged.',
    schema: z.string().min(8, 'expected the signing secret'),
  },
  {
    name: 'SLACK_API_URL',
    expects: 'http(s)://host[:port]/api/',
    default: 'https://slack.com/api/',
    description: 'Slack Web API root (a test fake).',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'SLACK_APP_TOKEN',
    expects: 'an app-level token with `connections:write` (`xapp-...`)',
    default: 'unset (HTTP Events API)',
    description:
      'Runs the Slack app over Socket Mode: Herald dials out to Slack (`apps.connections.open`, then a WebSocket), so no public URL is needed and `SLACK_SIGNING_SECRET` is not used. Never logged.',
    schema: z.string().regex(/^xapp-[A-Za-z0-9-]+$/, 'expected an app-level token such as xapp-...'),
  },
  {
    name: 'VOICE_STT',
    expects: VOICE_STT_ENGINES.join(' | '),
    default: 'none (voice is off)',
    description:
      'Speech-to-text for voice sessions on `/v1/ws`: an OpenAI-compatible `/audio/transcriptions` (`OPENAI_*`, or `VOICE_STT_URL`), `openai-realtime` (streaming: the Realtime API in transcription mode, audio sent while the user speaks), Groq (`GROQ_*`), a whisper.cpp server at `VOICE_STT_URL`, or `whisper-cli` run per utterance. See "Voice".',
    schema: z.enum(VOICE_STT_ENGINES, { error: `expected one of ${VOICE_STT_ENGINES.join(', ')}` }),
  },
  {
    name: 'VOICE_STT_URL',
    expects: 'http(s)://host:port[/v1]',
    default:
      'unset (openai, openai-realtime: `OPENAI_BASE_URL`; groq: `GROQ_BASE_URL`; whisper-server: http://127.0.0.1:8080)',
    description: 'Where the speech-to-text engine listens, when not the default.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'VOICE_STT_MODEL',
    expects: 'a model name',
    default: `${DEFAULTS.voiceSttModel} (groq: ${DEFAULTS.voiceSttGroqModel}; openai-realtime: ${DEFAULTS.voiceSttRealtimeModel})`,
    description: 'Transcription model for `openai`, `openai-realtime` and `groq`.',
    schema: z.string().min(1),
  },
  {
    name: 'VOICE_STT_TIMEOUT_MS',
    expects: 'integer ms',
    default: String(DEFAULTS.voiceSttTimeoutMs),
    description: 'A transcription slower than this is abandoned; the user reads and hears that it failed.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'WHISPER_CPP_BIN',
    expects: 'a program name or path',
    default: DEFAULTS.whisperCppBin,
    description: "whisper.cpp's command-line program, for `VOICE_STT=whisper-cli`.",
    schema: z.string().min(1),
  },
  {
    name: 'WHISPER_CPP_MODEL',
    expects: 'a ggml model file path',
    default: 'unset (`DATA_DIR/models/ggml-base.en.bin`)',
    description:
      'whisper.cpp model for `VOICE_STT=whisper-cli`; a missing file is reported with the command that downloads it.',
    schema: z.string().min(1),
  },
  {
    name: 'VOICE_TTS',
    expects: VOICE_TTS_ENGINES.join(' | '),
    default: DEFAULTS.voiceTts,
    description:
      'How answers are spoken: `espeak` (eSpeak NG built into Herald as WebAssembly, no system package), an OpenAI-compatible `/audio/speech`, or `none` (text only).',
    schema: z.enum(VOICE_TTS_ENGINES, { error: `expected one of ${VOICE_TTS_ENGINES.join(', ')}` }),
  },
  {
    name: 'VOICE_TTS_URL',
    expects: 'http(s)://host:port/v1',
    default: 'unset (`OPENAI_BASE_URL`)',
    description: 'OpenAI-compatible speech endpoint for `VOICE_TTS=openai`, when not `OPENAI_BASE_URL`.',
    schema: url(['http:', 'https:']),
  },
  {
    name: 'VOICE_TTS_MODEL',
    expects: 'a model name',
    default: DEFAULTS.voiceTtsModel,
    description: 'Speech model for `VOICE_TTS=openai`.',
    schema: z.string().min(1),
  },
  {
    name: 'VOICE_TTS_VOICE',
    expects: 'a voice name',
    default: `${DEFAULTS.voiceTtsVoice} (openai: alloy)`,
    description: 'eSpeak NG voice (a language code such as `en-us`, `en-gb`, `fr`, `de`) or the OpenAI voice.',
    schema: z.string().min(1),
  },
  {
    name: 'VOICE_VAD_POSITIVE',
    expects: 'number 0-1',
    default: String(DEFAULTS.voiceVadPositive),
    description: 'Silero VAD probability at or above which a 32 ms window is speech.',
    schema: probability,
  },
  {
    name: 'VOICE_VAD_NEGATIVE',
    expects: 'number 0-1',
    default: String(DEFAULTS.voiceVadNegative),
    description: 'Probability below which a window counts as silence towards the end of a turn.',
    schema: probability,
  },
  {
    name: 'VOICE_PRE_SPEECH_MS',
    expects: 'integer ms',
    default: String(DEFAULTS.voicePreSpeechMs),
    description: 'Audio kept from before speech was detected, so soft beginnings are transcribed.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'VOICE_END_SILENCE_MS',
    expects: 'integer ms',
    default: String(DEFAULTS.voiceEndSilenceMs),
    description: "Silence that ends the user's turn (lower answers sooner, but cuts people who pause).",
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'VOICE_MAX_UTTERANCE_MS',
    expects: 'integer ms',
    default: String(DEFAULTS.voiceMaxUtteranceMs),
    description: 'Longest utterance transcribed; longer speech is cut there and the user is told.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'VOICE_PARTIAL_INTERVAL_MS',
    expects: 'integer ms, 0 for none',
    default: '0 (final transcripts only)',
    description:
      'While the user speaks, send a partial transcript every this many ms of speech (each one re-transcribes the utterance so far: costs engine calls).',
    schema: z.coerce
      .number({ error: 'expected a non-negative integer of milliseconds' })
      .int('expected a non-negative integer of milliseconds')
      .min(0, 'expected a non-negative integer of milliseconds'),
  },
  {
    name: 'VOICE_SPECULATIVE_PAUSE_MS',
    expects: 'integer ms, 0 for none',
    default: String(DEFAULTS.voiceSpeculativePauseMs),
    description:
      'After this much silence the speech so far is transcribed and its answer started unseen (a speculative turn), kept only if the turn then ends; 0: no speculation, turns end at `VOICE_END_SILENCE_MS`. Below `VOICE_COMPLETE_SILENCE_MS`. See docs/voice.md.',
    schema: z.coerce
      .number({ error: 'expected a non-negative integer of milliseconds' })
      .int('expected a non-negative integer of milliseconds')
      .min(0, 'expected a non-negative integer of milliseconds'),
  },
  {
    name: 'VOICE_COMPLETE_SILENCE_MS',
    expects: 'integer ms',
    default: String(DEFAULTS.voiceCompleteSilenceMs),
    description:
      'With speculative turns: the silence that ends a turn whose transcript reads finished (final punctuation). At most `VOICE_INCOMPLETE_SILENCE_MS`.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'VOICE_INCOMPLETE_SILENCE_MS',
    expects: 'integer ms',
    default: String(DEFAULTS.voiceIncompleteSilenceMs),
    description:
      'With speculative turns: the silence waited for a user whose transcript reads unfinished (a trailing comma, "about", "the"...). Turns that read neither way end at `VOICE_END_SILENCE_MS`.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'VOICE_MAX_END_SILENCE_MS',
    expects: 'integer ms',
    default: String(DEFAULTS.voiceMaxEndSilenceMs),
    description:
      'With speculative turns: the upper bound, no turn waits for more silence than this whatever its transcript. At least `VOICE_COMPLETE_SILENCE_MS`.',
    schema: positiveInt('a positive integer of milliseconds'),
  },
  {
    name: 'VOICE_BARGE_IN_MIN_SPEECH_MS',
    expects: 'integer ms',
    default: String(DEFAULTS.voiceBargeInMinSpeechMs),
    description:
      "Speech over Herald's answer pauses it only once it lasts this long (or a word is transcribed), so a click or a cough stops nothing.",
    schema: positiveInt('a positive integer of milliseconds'),
  },
];
