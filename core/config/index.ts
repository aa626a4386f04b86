/**
 * The one place Herald reads its environment. `loadConfig` merges an optional `.env` file
 * under the process environment (the environment wins), validates every variable at once and
 * returns a frozen, typed `Config`. A bad value never surfaces later as a crash deep in a
 * module: start-up stops with one message that lists every bad variable and what it expects.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import {
  DEFAULTS,
  VARIABLES,
  isSecret,
  type LOG_LEVELS,
  type ROLES,
  type VOICE_STT_ENGINES,
  type VOICE_TTS_ENGINES,
} from './variables.js';
import { HeraldError } from '../errors.js';
import { videoApps, type PinterestAppConfig, type TikTokAppConfig, type YouTubeAppConfig } from './video-apps.js';
import { blueskyOAuthOf, type BlueskyOAuthConfig } from './bluesky-oauth.js';
import { readModelsFile, type ModelFileEntry } from './models-file.js';

export { VARIABLES, DEFAULTS, isSecret } from './variables.js';
export type { VariableDoc } from './variables.js';
export {
  MODEL_PROVIDERS,
  ModelFileEntrySchema,
  ModelFileSchema,
  readModelsFile,
  type ModelFileEntry,
} from './models-file.js';

export interface Config {
  readonly host: string;
  readonly port: number;
  /** Where people and platforms reach Herald (no trailing slash); undefined when unset. */
  readonly publicUrl: string | undefined;
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
  /** The knowledge base (docs/knowledge.md). */
  readonly knowledge: {
    /** `lexical`, `ollama:<model>` or `openai:<model>`. */
    readonly embedder: string;
    readonly maxBytes: number;
    readonly uploadMaxBytes: number;
    readonly fetchTimeoutMs: number;
  };
  /** Voice sessions (README, "Voice"); engines' keys and URLs default to `models`'. */
  readonly voice: {
    readonly stt: (typeof VOICE_STT_ENGINES)[number];
    readonly sttUrl: string | undefined;
    readonly sttModel: string | undefined;
    readonly sttTimeoutMs: number;
    readonly whisperBin: string;
    readonly whisperModel: string;
    readonly tts: (typeof VOICE_TTS_ENGINES)[number];
    readonly ttsUrl: string | undefined;
    readonly ttsModel: string;
    readonly ttsVoice: string | undefined;
    readonly vadPositive: number;
    readonly vadNegative: number;
    readonly preSpeechMs: number;
    readonly endSilenceMs: number;
    readonly maxUtteranceMs: number;
    readonly partialIntervalMs: number;
    /** Speculative turns (docs/voice.md): 0 turns them off. */
    readonly speculativePauseMs: number;
    readonly completeSilenceMs: number;
    readonly incompleteSilenceMs: number;
    readonly maxEndSilenceMs: number;
    readonly bargeInMinSpeechMs: number;
  };
  /** Model providers and routing (see docs/models.md). */
  readonly models: {
    readonly groq: { readonly apiKey: string; readonly baseUrl: string | undefined } | undefined;
    readonly anthropic: { readonly apiKey: string; readonly baseUrl: string | undefined } | undefined;
    /** Set when OPENAI_API_KEY or OPENAI_BASE_URL is. */
    readonly openai: { readonly apiKey: string | undefined; readonly baseUrl: string | undefined } | undefined;
    /** Absolute path of `MODELS_FILE`, read and validated at load. */
    readonly file: string | undefined;
    /** The entries of `MODELS_FILE`; empty when unset. */
    readonly entries: readonly ModelFileEntry[];
    /** Ollama models any workspace admin may pull (`MODEL_PULL_ALLOWLIST`); instance admins may pull any. */
    readonly pullAllowlist: readonly string[];
    readonly firstTokenTimeoutMs: number;
    readonly breakerFailures: number;
    readonly breakerCooldownMs: number;
  };
  /** User ids of the instance's administrators (`INSTANCE_ADMINS`): instance-level actions such as model pulls. */
  readonly instanceAdmins: readonly string[];
  /** The agent's conversation memory (see docs/agent.md). */
  readonly agent: {
    readonly summaryAfterTokens: number;
    readonly summaryKeepMessages: number;
    /** Which tools a model call is given (`AGENT_TOOLS`). */
    readonly tools: 'select' | 'fit' | 'all';
    readonly toolBudgetTokens: number;
  };
  /** Parsed keys, or undefined when the data-dir key file should be used. */
  readonly encryption: { readonly keys: ReadonlyMap<string, Buffer>; readonly activeKeyId: string } | undefined;
  readonly shutdownTimeoutMs: number;
  /** After SIGTERM, how long new requests are answered `shutting_down` before the server stops listening. */
  readonly shutdownDrainMs: number;
  /** Connection deadlines of the HTTP server (`HTTP_*_TIMEOUT_MS`). */
  readonly http: {
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly idleTimeoutMs: number;
  };
  readonly childStartTimeoutMs: number;
  /** How long start-up retries a database, Redis or Chroma that does not answer yet; 0: once. */
  readonly startupRetryMs: number;
  readonly queuePrefix: string;
  /** Bearer token for `/metrics`; undefined: loopback scrapes only. */
  readonly metricsToken: string | undefined;
  /**
   * The Slack app (docs/channels.md); undefined unless `SLACK_BOT_TOKEN` and either
   * `SLACK_APP_TOKEN` (Socket Mode) or `SLACK_SIGNING_SECRET` (HTTP Events API) are set.
   */
  readonly slack:
    | {
        readonly botToken: string;
        readonly signingSecret: string | undefined;
        /** Set: Socket Mode (no public URL); unset: HTTP Events API on `POST /v1/channels/slack/events`. */
        readonly appToken: string | undefined;
        readonly apiUrl: string | undefined;
      }
    | undefined;
  /** The Telegram bot (docs/channels.md); undefined without `TELEGRAM_BOT_TOKEN`. */
  readonly telegram:
    | { readonly token: string; readonly webhookSecret: string | undefined; readonly apiUrl: string | undefined }
    | undefined;
  /** S3-compatible media storage; undefined: media on local disk under `DATA_DIR/media`. */
  readonly s3:
    | {
        readonly bucket: string;
        readonly region: string;
        readonly endpoint: string | undefined;
        /** Both or neither; undefined: the AWS SDK's default credential chain. */
        readonly accessKeyId: string | undefined;
        readonly secretAccessKey: string | undefined;
        readonly forcePathStyle: boolean;
      }
    | undefined;
  /** App credentials for connecting accounts (docs/connectors.md); a platform left undefined cannot be connected. */
  readonly connect: {
    readonly x: { readonly clientId: string; readonly clientSecret: string; readonly redirectUri: string } | undefined;
    /** Unset: https://api.x.com. */
    readonly xApiUrl: string | undefined;
    /** The X app's API access (`X_API_ACCESS`): decides whether quote posts are offered. */
    readonly xApiAccess?: 'self-serve' | 'enterprise';
    readonly linkedin?:
      | {
          readonly clientId: string;
          readonly clientSecret: string;
          readonly redirectUri: string;
          readonly scopes: readonly string[];
          readonly version: string;
        }
      | undefined;
    /** Unset: https://api.linkedin.com and https://www.linkedin.com. */
    readonly linkedinApiUrl?: string | undefined;
    readonly mastodon: { readonly redirectUri: string } | undefined;
    /** The video platforms' apps (`video-apps.ts`); each undefined unless its id, secret and redirect are set. */
    readonly tiktok?: TikTokAppConfig;
    readonly youtube?: YouTubeAppConfig;
    readonly pinterest?: PinterestAppConfig;
    /** Meta's apps (docs/connectors.md): each needs `PUBLIC_URL` (the callback and the public media URLs). */
    readonly instagram?: MetaAppConfig & { readonly login: 'instagram' | 'facebook' };
    readonly instagramApiUrl?: string | undefined;
    readonly facebook?: MetaAppConfig;
    readonly facebookApiUrl?: string | undefined;
    readonly threads?: MetaAppConfig;
    readonly threadsApiUrl?: string | undefined;
    /** Where the browser goes after the OAuth callback; unset, the callback answers JSON. */
    readonly doneUrl: string | undefined;
    /** Bluesky's OAuth client (`bluesky-oauth.ts`); unset: Bluesky accounts connect with app passwords only. */
    readonly blueskyOAuth?: BlueskyOAuthConfig | undefined;
  };
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
  readonly api: {
    /** Undefined: derive from the encryption key. */
    readonly jwtSecret: string | undefined;
    readonly accessTokenTtlS: number;
    readonly refreshTokenTtlS: number;
    readonly bodyLimitBytes: number;
    readonly rateLimitPerMinute: number;
    readonly wsMaxConnectionsPerUser: number;
    readonly wsMaxFrameBytes: number;
    readonly wsMaxBufferedBytes: number;
    readonly wsHeartbeatMs: number;
    readonly mediaMaxBytes: number;
    /** `OUTBOUND_ALLOW`: what user-given URLs may reach beyond public addresses (core/net/outbound). */
    readonly outboundAllow: readonly string[];
    /** Empty: no cross-origin access; ['*']: any origin. */
    readonly corsOrigins: readonly string[];
    /** Fastify's `trustProxy`: which proxies' forwarded headers give the client's address. */
    readonly trustProxy?: boolean | readonly string[];
    /** `PUBLIC_URL`, listed as the server in the OpenAPI document. */
    readonly publicUrl?: string | undefined;
  };
  /** Tracked links (docs/links.md). */
  readonly links: {
    /** Base of short URLs (`LINKS_BASE_URL`, else `PUBLIC_URL`, else `http://HOST:PORT`), no trailing slash. */
    readonly baseUrl: string;
    readonly rateLimitPerMinute: number;
    readonly uniqueWindowMinutes: number;
    /** `LINKS_JOURNAL_DIR`: the click journals (tools/links/journal.ts), default `<DATA_DIR>/clicks`. */
    readonly journalDir: string;
  };
  /** MCP at `/mcp` and its OAuth authorization server (docs/mcp.md). */
  readonly mcp: {
    readonly sessions: 'stateless' | 'stateful';
    readonly sessionIdleS: number;
    readonly oauthAccessTtlS: number;
    /** `PUBLIC_URL`: the issuer and the resource's base; unset, each request's origin. */
    readonly publicUrl: string | undefined;
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

/**
 * `<NAME>_FILE` for every secret: the file's content (trailing newlines dropped) becomes the
 * value, so Docker or Kubernetes secrets need not sit in the environment. Setting both forms
 * is refused rather than guessing which one wins.
 */
function readSecretFiles(env: NodeJS.ProcessEnv, cwd: string, problems: ConfigProblem[]): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const v of VARIABLES) {
    if (!isSecret(v)) continue;
    const fileVar = `${v.name}_FILE`;
    const file = env[fileVar]?.trim();
    if (!file) continue;
    if (env[v.name] !== undefined && env[v.name]!.trim() !== '') {
      problems.push({
        variable: fileVar,
        expects: `either ${v.name} or ${fileVar}, not both`,
        problem: `set together with ${v.name}`,
      });
      continue;
    }
    try {
      out[v.name] = readFileSync(path.resolve(cwd, file), 'utf8').replace(/[\r\n]+$/, '');
    } catch (err) {
      problems.push({
        variable: fileVar,
        expects: `a readable file holding ${v.name}`,
        problem: `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      });
    }
  }
  return out;
}

/** The OAuth callback under `PUBLIC_URL`, the default of every `*_REDIRECT_URI`. */
export const CALLBACK_PATH = '/v1/social-accounts/callback';

function describe(value: string): string {
  return value.length > 40 ? `${value.slice(0, 37)}...` : value;
}

/** A Meta app's credentials and the callback under `PUBLIC_URL`. */
export interface MetaAppConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
}

/** Meta's three apps, each only with its id, secret and `PUBLIC_URL` (Meta fetches media from there). */
function metaApps(values: Record<string, unknown>, publicUrl: string | undefined) {
  const app = (id: string, secret: string): MetaAppConfig | undefined =>
    values[id] && values[secret] && publicUrl
      ? {
          clientId: values[id] as string,
          clientSecret: values[secret] as string,
          redirectUri: `${publicUrl}${CALLBACK_PATH}`,
        }
      : undefined;
  const login = (values.INSTAGRAM_LOGIN as 'instagram' | 'facebook' | undefined) ?? 'instagram';
  const instagram =
    login === 'facebook'
      ? app('FACEBOOK_APP_ID', 'FACEBOOK_APP_SECRET')
      : app('INSTAGRAM_APP_ID', 'INSTAGRAM_APP_SECRET');
  const facebook = app('FACEBOOK_APP_ID', 'FACEBOOK_APP_SECRET');
  const threads = app('THREADS_APP_ID', 'THREADS_APP_SECRET');
  return {
    ...(instagram ? { instagram: { ...instagram, login } } : {}),
    ...(facebook ? { facebook } : {}),
    ...(threads ? { threads } : {}),
    instagramApiUrl: values.INSTAGRAM_API_URL as string | undefined,
    facebookApiUrl: values.FACEBOOK_API_URL as string | undefined,
    threadsApiUrl: values.THREADS_API_URL as string | undefined,
  };
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const fileVars = options.readDotenv === false ? {} : readDotenvFile(cwd);
  const problems: ConfigProblem[] = [];
  const env = readSecretFiles({ ...fileVars, ...(options.env ?? process.env) }, cwd, problems);
  const values: Record<string, unknown> = {};
  for (const v of VARIABLES) {
    const raw = env[v.name];
    // An empty string counts as unset so `FOO=` in a .env file means "use the default".
    const input = raw === undefined || raw.trim() === '' ? undefined : raw.trim();
    if (input === undefined) continue; // every variable has a default or is optional
    const parsed = v.schema.safeParse(input);
    if (parsed.success) values[v.name] = parsed.data;
    else {
      const secret = isSecret(v) || v.name.endsWith('_URL');
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

  // S3 settings mean nothing without a bucket, and access keys come in pairs.
  const s3Bucket = values.S3_BUCKET as string | undefined;
  const s3KeyId = values.S3_ACCESS_KEY_ID as string | undefined;
  const s3Secret = values.S3_SECRET_ACCESS_KEY as string | undefined;
  const s3Orphans = [
    'S3_REGION',
    'S3_ENDPOINT',
    'S3_ACCESS_KEY_ID',
    'S3_SECRET_ACCESS_KEY',
    'S3_FORCE_PATH_STYLE',
  ].filter((name) => values[name] !== undefined);
  if (!s3Bucket && s3Orphans.length > 0) {
    problems.push({
      variable: 'S3_BUCKET',
      expects: 'a bucket name whenever another S3_* variable is set',
      problem: `unset, but ${s3Orphans.join(', ')} ${s3Orphans.length === 1 ? 'is' : 'are'} set`,
    });
  }
  if (!!s3KeyId !== !!s3Secret) {
    problems.push({
      variable: s3KeyId ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID',
      expects: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY together, or neither',
      problem: `unset, but ${s3KeyId ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY'} is set`,
    });
  }

  // The models file is part of the configuration: a missing or bad one is reported here,
  // with the other problems, before anything is started.
  const modelsFile = values.MODELS_FILE === undefined ? undefined : path.resolve(cwd, values.MODELS_FILE as string);
  let modelEntries: readonly ModelFileEntry[] = [];
  if (modelsFile) {
    const read = readModelsFile(modelsFile);
    if ('problem' in read)
      problems.push({
        variable: 'MODELS_FILE',
        expects: 'a JSON file in the format of docs/models.md',
        problem: read.problem,
      });
    else modelEntries = read.entries;
  }

  const voiceTurns = voiceTurnsOf(values, problems);
  const blueskyOAuth = blueskyOAuthOf(values, (values.PORT as number | undefined) ?? DEFAULTS.port, problems);
  if (problems.length > 0) throw configError(problems);

  const publicUrl = values.PUBLIC_URL as string | undefined;
  const redirectUri = (name: string): string | undefined =>
    (values[name] as string | undefined) ?? (publicUrl ? `${publicUrl}${CALLBACK_PATH}` : undefined);
  const xRedirect = redirectUri('X_REDIRECT_URI');
  const linkedinRedirect = redirectUri('LINKEDIN_REDIRECT_URI');
  const mastodonRedirect = redirectUri('MASTODON_REDIRECT_URI');

  return Object.freeze({
    host: pick('HOST', DEFAULTS.host),
    port: pick('PORT', DEFAULTS.port),
    publicUrl,
    logLevel: pick('LOG_LEVEL', DEFAULTS.logLevel),
    dataDir: path.resolve(cwd, pick('DATA_DIR', DEFAULTS.dataDir)),
    role: pick('HERALD_ROLE', DEFAULTS.role),
    databaseUrl: values.DATABASE_URL as string | undefined,
    databasePoolMax: pick('DATABASE_POOL_MAX', DEFAULTS.databasePoolMax),
    redisUrl: pick('REDIS_URL', DEFAULTS.redisUrl),
    redisAutostart: pick('REDIS_AUTOSTART', DEFAULTS.redisAutostart),
    chromaUrl: values.CHROMA_URL as string | undefined,
    ollamaUrl: values.OLLAMA_URL as string | undefined,
    knowledge: Object.freeze({
      embedder: pick('KNOWLEDGE_EMBEDDER', DEFAULTS.knowledgeEmbedder),
      maxBytes: pick('KNOWLEDGE_MAX_BYTES', DEFAULTS.knowledgeMaxBytes),
      uploadMaxBytes: pick('KNOWLEDGE_UPLOAD_MAX_BYTES', DEFAULTS.knowledgeUploadMaxBytes),
      fetchTimeoutMs: pick('KNOWLEDGE_FETCH_TIMEOUT_MS', DEFAULTS.knowledgeFetchTimeoutMs),
    }),
    voice: Object.freeze({
      stt: pick('VOICE_STT', DEFAULTS.voiceStt),
      sttUrl: values.VOICE_STT_URL as string | undefined,
      sttModel: values.VOICE_STT_MODEL as string | undefined,
      sttTimeoutMs: pick('VOICE_STT_TIMEOUT_MS', DEFAULTS.voiceSttTimeoutMs),
      whisperBin: pick('WHISPER_CPP_BIN', DEFAULTS.whisperCppBin),
      whisperModel: path.resolve(
        cwd,
        pick('WHISPER_CPP_MODEL', path.join(pick('DATA_DIR', DEFAULTS.dataDir), 'models', 'ggml-base.en.bin')),
      ),
      tts: pick('VOICE_TTS', DEFAULTS.voiceTts),
      ttsUrl: values.VOICE_TTS_URL as string | undefined,
      ttsModel: pick('VOICE_TTS_MODEL', DEFAULTS.voiceTtsModel),
      ttsVoice: values.VOICE_TTS_VOICE as string | undefined,
      vadPositive: pick('VOICE_VAD_POSITIVE', DEFAULTS.voiceVadPositive),
      vadNegative: pick('VOICE_VAD_NEGATIVE', DEFAULTS.voiceVadNegative),
      preSpeechMs: pick('VOICE_PRE_SPEECH_MS', DEFAULTS.voicePreSpeechMs),
      endSilenceMs: pick('VOICE_END_SILENCE_MS', DEFAULTS.voiceEndSilenceMs),
      maxUtteranceMs: pick('VOICE_MAX_UTTERANCE_MS', DEFAULTS.voiceMaxUtteranceMs),
      partialIntervalMs: pick('VOICE_PARTIAL_INTERVAL_MS', DEFAULTS.voicePartialIntervalMs),
      ...voiceTurns,
    }),
    models: Object.freeze({
      groq: values.GROQ_API_KEY
        ? { apiKey: values.GROQ_API_KEY as string, baseUrl: values.GROQ_BASE_URL as string | undefined }
        : undefined,
      anthropic: values.ANTHROPIC_API_KEY
        ? { apiKey: values.ANTHROPIC_API_KEY as string, baseUrl: values.ANTHROPIC_BASE_URL as string | undefined }
        : undefined,
      openai:
        values.OPENAI_API_KEY || values.OPENAI_BASE_URL
          ? {
              apiKey: values.OPENAI_API_KEY as string | undefined,
              baseUrl: values.OPENAI_BASE_URL as string | undefined,
            }
          : undefined,
      file: modelsFile,
      entries: Object.freeze([...modelEntries]),
      pullAllowlist: Object.freeze(listOf(values.MODEL_PULL_ALLOWLIST)),
      firstTokenTimeoutMs: pick('MODEL_FIRST_TOKEN_TIMEOUT_MS', DEFAULTS.modelFirstTokenTimeoutMs),
      breakerFailures: pick('MODEL_BREAKER_FAILURES', DEFAULTS.modelBreakerFailures),
      breakerCooldownMs: pick('MODEL_BREAKER_COOLDOWN_MS', DEFAULTS.modelBreakerCooldownMs),
    }),
    instanceAdmins: Object.freeze(listOf(values.INSTANCE_ADMINS)),
    agent: Object.freeze({
      summaryAfterTokens: pick('AGENT_SUMMARY_AFTER_TOKENS', DEFAULTS.agentSummaryAfterTokens),
      summaryKeepMessages: pick('AGENT_SUMMARY_KEEP_MESSAGES', DEFAULTS.agentSummaryKeepMessages),
      tools: pick('AGENT_TOOLS', DEFAULTS.agentTools),
      toolBudgetTokens: pick('AGENT_TOOL_BUDGET_TOKENS', DEFAULTS.agentToolBudgetTokens),
    }),
    encryption,
    shutdownTimeoutMs: pick('SHUTDOWN_TIMEOUT_MS', DEFAULTS.shutdownTimeoutMs),
    shutdownDrainMs: pick('SHUTDOWN_DRAIN_MS', DEFAULTS.shutdownDrainMs),
    http: Object.freeze({
      headersTimeoutMs: pick('HTTP_HEADERS_TIMEOUT_MS', DEFAULTS.httpHeadersTimeoutMs),
      requestTimeoutMs: pick('HTTP_REQUEST_TIMEOUT_MS', DEFAULTS.httpRequestTimeoutMs),
      idleTimeoutMs: pick('HTTP_IDLE_TIMEOUT_MS', DEFAULTS.httpIdleTimeoutMs),
    }),
    childStartTimeoutMs: pick('CHILD_START_TIMEOUT_MS', DEFAULTS.childStartTimeoutMs),
    startupRetryMs: pick('STARTUP_RETRY_MS', DEFAULTS.startupRetryMs),
    queuePrefix: pick('QUEUE_PREFIX', DEFAULTS.queuePrefix),
    metricsToken: values.METRICS_TOKEN as string | undefined,
    slack:
      values.SLACK_BOT_TOKEN && (values.SLACK_SIGNING_SECRET || values.SLACK_APP_TOKEN)
        ? Object.freeze({
            botToken: values.SLACK_BOT_TOKEN as string,
            signingSecret: values.SLACK_SIGNING_SECRET as string | undefined,
            appToken: values.SLACK_APP_TOKEN as string | undefined,
            apiUrl: values.SLACK_API_URL as string | undefined,
          })
        : undefined,
    telegram: values.TELEGRAM_BOT_TOKEN
      ? Object.freeze({
          token: values.TELEGRAM_BOT_TOKEN as string,
          webhookSecret: values.TELEGRAM_WEBHOOK_SECRET as string | undefined,
          apiUrl: values.TELEGRAM_API_URL as string | undefined,
        })
      : undefined,
    s3: s3Bucket
      ? Object.freeze({
          bucket: s3Bucket,
          region: pick('S3_REGION', DEFAULTS.s3Region),
          endpoint: values.S3_ENDPOINT as string | undefined,
          accessKeyId: s3KeyId,
          secretAccessKey: s3Secret,
          forcePathStyle: pick<boolean>('S3_FORCE_PATH_STYLE', DEFAULTS.s3ForcePathStyle),
        })
      : undefined,
    connect: Object.freeze({
      x:
        values.X_CLIENT_ID && values.X_CLIENT_SECRET && xRedirect
          ? {
              clientId: values.X_CLIENT_ID as string,
              clientSecret: values.X_CLIENT_SECRET as string,
              redirectUri: xRedirect,
            }
          : undefined,
      xApiUrl: values.X_API_URL as string | undefined,
      xApiAccess: pick('X_API_ACCESS', DEFAULTS.xApiAccess) as 'self-serve' | 'enterprise',
      linkedin:
        values.LINKEDIN_CLIENT_ID && values.LINKEDIN_CLIENT_SECRET && linkedinRedirect
          ? {
              clientId: values.LINKEDIN_CLIENT_ID as string,
              clientSecret: values.LINKEDIN_CLIENT_SECRET as string,
              redirectUri: linkedinRedirect,
              scopes: pick('LINKEDIN_SCOPES', DEFAULTS.linkedinScopes).split(' '),
              version: pick('LINKEDIN_VERSION', DEFAULTS.linkedinVersion),
            }
          : undefined,
      linkedinApiUrl: values.LINKEDIN_API_URL as string | undefined,
      mastodon: mastodonRedirect ? { redirectUri: mastodonRedirect } : undefined,
      ...metaApps(values, publicUrl),
      ...videoApps(values, redirectUri),
      doneUrl: values.CONNECT_DONE_URL as string | undefined,
      blueskyOAuth,
    }),
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
    api: Object.freeze({
      jwtSecret: values.JWT_SECRET as string | undefined,
      accessTokenTtlS: pick('ACCESS_TOKEN_TTL_S', DEFAULTS.accessTokenTtlS),
      refreshTokenTtlS: pick('REFRESH_TOKEN_TTL_S', DEFAULTS.refreshTokenTtlS),
      bodyLimitBytes: pick('BODY_LIMIT_BYTES', DEFAULTS.bodyLimitBytes),
      rateLimitPerMinute: pick('RATE_LIMIT_PER_MINUTE', DEFAULTS.rateLimitPerMinute),
      wsMaxConnectionsPerUser: pick('WS_MAX_CONNECTIONS_PER_USER', DEFAULTS.wsMaxConnectionsPerUser),
      wsMaxFrameBytes: pick('WS_MAX_FRAME_BYTES', DEFAULTS.wsMaxFrameBytes),
      wsMaxBufferedBytes: pick('WS_MAX_BUFFERED_BYTES', DEFAULTS.wsMaxBufferedBytes),
      wsHeartbeatMs: pick('WS_HEARTBEAT_MS', DEFAULTS.wsHeartbeatMs),
      mediaMaxBytes: pick('MEDIA_MAX_BYTES', DEFAULTS.mediaMaxBytes),
      outboundAllow: Object.freeze(pick<string[]>('OUTBOUND_ALLOW', [])),
      corsOrigins: Object.freeze(
        pick<string>('CORS_ORIGINS', DEFAULTS.corsOrigins)
          .split(',')
          .map((o) => o.trim())
          .filter(Boolean),
      ),
      trustProxy: pick<boolean | string[]>('TRUST_PROXY', false),
      publicUrl,
    }),
    links: Object.freeze({
      baseUrl:
        (values.LINKS_BASE_URL as string | undefined) ??
        publicUrl ??
        `http://${pick('HOST', DEFAULTS.host)}:${pick('PORT', DEFAULTS.port)}`,
      rateLimitPerMinute: pick('LINKS_RATE_LIMIT_PER_MINUTE', DEFAULTS.linksRateLimitPerMinute),
      uniqueWindowMinutes: pick('LINKS_UNIQUE_WINDOW_MINUTES', DEFAULTS.linksUniqueWindowMinutes),
      journalDir: path.resolve(
        cwd,
        (values.LINKS_JOURNAL_DIR as string | undefined) ?? path.join(pick('DATA_DIR', DEFAULTS.dataDir), 'clicks'),
      ),
    }),
    mcp: Object.freeze({
      sessions: pick<'stateless' | 'stateful'>('MCP_SESSIONS', DEFAULTS.mcpSessions),
      sessionIdleS: pick('MCP_SESSION_IDLE_S', DEFAULTS.mcpSessionIdleS),
      oauthAccessTtlS: pick('MCP_OAUTH_ACCESS_TTL_S', DEFAULTS.mcpOauthAccessTtlS),
      publicUrl,
    }),
  });
}

/** A comma-separated value as its non-empty items. */
function listOf(value: unknown): string[] {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

/**
 * The turn-taking settings, checked together: the speculative pause must come before the
 * shortest end of a turn, a finished-sounding turn cannot wait longer than an unfinished one,
 * and the upper bound cannot be below the shortest wait.
 */
function voiceTurnsOf(values: Record<string, unknown>, problems: ConfigProblem[]) {
  const pick = <T>(name: string, fallback: T): T => (values[name] === undefined ? fallback : (values[name] as T));
  const turns = {
    speculativePauseMs: pick('VOICE_SPECULATIVE_PAUSE_MS', DEFAULTS.voiceSpeculativePauseMs as number),
    completeSilenceMs: pick('VOICE_COMPLETE_SILENCE_MS', DEFAULTS.voiceCompleteSilenceMs as number),
    incompleteSilenceMs: pick('VOICE_INCOMPLETE_SILENCE_MS', DEFAULTS.voiceIncompleteSilenceMs as number),
    maxEndSilenceMs: pick('VOICE_MAX_END_SILENCE_MS', DEFAULTS.voiceMaxEndSilenceMs as number),
    bargeInMinSpeechMs: pick('VOICE_BARGE_IN_MIN_SPEECH_MS', DEFAULTS.voiceBargeInMinSpeechMs as number),
  };
  const set = (name: string) => values[name] !== undefined;
  const blame = (a: string, b: string) => (set(a) || !set(b) ? a : b);
  if (turns.speculativePauseMs > 0 && turns.speculativePauseMs >= turns.completeSilenceMs) {
    const variable = blame('VOICE_SPECULATIVE_PAUSE_MS', 'VOICE_COMPLETE_SILENCE_MS');
    problems.push({
      variable,
      expects: 'VOICE_SPECULATIVE_PAUSE_MS (or 0) below VOICE_COMPLETE_SILENCE_MS',
      problem: `the pause is ${turns.speculativePauseMs} ms and a finished turn ends after ${turns.completeSilenceMs} ms`,
    });
  }
  if (turns.completeSilenceMs > turns.incompleteSilenceMs) {
    problems.push({
      variable: blame('VOICE_COMPLETE_SILENCE_MS', 'VOICE_INCOMPLETE_SILENCE_MS'),
      expects: 'VOICE_COMPLETE_SILENCE_MS at most VOICE_INCOMPLETE_SILENCE_MS',
      problem: `a finished turn would wait ${turns.completeSilenceMs} ms, an unfinished one ${turns.incompleteSilenceMs} ms`,
    });
  }
  if (turns.maxEndSilenceMs < turns.completeSilenceMs) {
    problems.push({
      variable: blame('VOICE_MAX_END_SILENCE_MS', 'VOICE_COMPLETE_SILENCE_MS'),
      expects: 'VOICE_MAX_END_SILENCE_MS at least VOICE_COMPLETE_SILENCE_MS',
      problem: `the upper bound is ${turns.maxEndSilenceMs} ms, below the ${turns.completeSilenceMs} ms of a finished turn`,
    });
  }
  return turns;
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
    models: {
      ...config.models,
      groq: config.models.groq ? { ...config.models.groq, apiKey: '***' } : 'unset',
      anthropic: config.models.anthropic ? { ...config.models.anthropic, apiKey: '***' } : 'unset',
      openai: config.models.openai
        ? { ...config.models.openai, apiKey: config.models.openai.apiKey ? '***' : 'unset' }
        : 'unset',
    },
    api: { ...config.api, jwtSecret: config.api.jwtSecret ? '***' : 'derived' },
    metricsToken: config.metricsToken ? '***' : 'unset',
    slack: config.slack
      ? {
          ...config.slack,
          botToken: '***',
          signingSecret: config.slack.signingSecret ? '***' : 'unset',
          appToken: config.slack.appToken ? '***' : 'unset',
        }
      : 'unset',
    telegram: config.telegram
      ? { ...config.telegram, token: '***', webhookSecret: config.telegram.webhookSecret ? '***' : 'unset' }
      : 'unset',
    connect: {
      ...config.connect,
      blueskyOAuth:
        config.connect.blueskyOAuth?.kind === 'confidential'
          ? { ...config.connect.blueskyOAuth, privateKeys: ['***'] }
          : (config.connect.blueskyOAuth ?? 'unset'),
      x: config.connect.x ? { ...config.connect.x, clientSecret: '***' } : 'unset',
      linkedin: config.connect.linkedin ? { ...config.connect.linkedin, clientSecret: '***' } : 'unset',
      instagram: config.connect.instagram ? { ...config.connect.instagram, clientSecret: '***' } : 'unset',
      facebook: config.connect.facebook ? { ...config.connect.facebook, clientSecret: '***' } : 'unset',
      threads: config.connect.threads ? { ...config.connect.threads, clientSecret: '***' } : 'unset',
      tiktok: config.connect.tiktok ? { ...config.connect.tiktok, clientSecret: '***' } : 'unset',
      youtube: config.connect.youtube ? { ...config.connect.youtube, clientSecret: '***' } : 'unset',
      pinterest: config.connect.pinterest ? { ...config.connect.pinterest, clientSecret: '***' } : 'unset',
    },
    s3: config.s3
      ? {
          ...config.s3,
          endpoint: stripCredentials(config.s3.endpoint),
          secretAccessKey: config.s3.secretAccessKey ? '***' : 'unset',
        }
      : 'unset (media on local disk)',
    encryption: config.encryption
      ? { keyIds: [...config.encryption.keys.keys()], activeKeyId: config.encryption.activeKeyId }
      : 'data-dir key file',
  };
}
