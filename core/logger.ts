/**
 * Herald's logger: pino, JSON lines, with redaction of every field that can carry a secret
 * (auth headers, cookies, tokens, passwords, keys) wherever it appears up to two levels deep.
 * Logged errors never carry a query's parameters: drizzle puts them in a failed query's
 * message ("params: ...") and fields, and they hold whatever was written — password hashes,
 * tokens, people's text. PostgreSQL's `detail` (which can quote a row) is dropped too.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

const SECRET_KEYS = [
  'authorization',
  'cookie',
  'set-cookie',
  'password',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'access_token',
  'refresh_token',
  'apiKey',
  'secret',
  'clientSecret',
  'appPassword',
  'credentials',
  'encryptionKeys',
];

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  'res.headers["set-cookie"]',
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]),
];

/** Fields of an error (or its causes) that hold stored values. */
const VALUE_FIELDS = ['params', 'parameters', 'detail'] as const;

/** pino's error serializer, with query parameters cut from every message and stack in the chain. */
export function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return pino.stdSerializers.err(err as Error);
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  const secrets: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    const params = (e as { params?: unknown }).params;
    if (params !== undefined) secrets.push(`\nparams: ${String(params)}`);
  }
  const scrub = (text: unknown) =>
    typeof text === 'string' ? secrets.reduce((t, p) => t.split(p).join('\nparams: [redacted]'), text) : text;
  out.message = scrub(out.message);
  out.stack = scrub(out.stack);
  for (const key of VALUE_FIELDS) delete out[key];
  return out;
}

export function createLogger(
  options: { level: string; destination?: pino.DestinationStream } & LoggerOptions = { level: 'info' },
): Logger {
  const { destination, ...rest } = options;
  const opts: LoggerOptions = {
    ...rest,
    base: { service: 'herald' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError, error: serializeError, ...rest.serializers },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(opts, destination ?? bufferedStdout());
}

/** How long a log line may wait in the buffer before it is written anyway. */
const LOG_FLUSH_MS = 100;

/**
 * Stdout, written asynchronously in chunks of about 4 KiB, and at least every 100 ms: one
 * write per request was a fifth of a cached API request's CPU. pino flushes what is pending
 * when the process exits; only a SIGKILL can lose the last 100 ms of lines.
 */
let stdout: pino.DestinationStream | undefined;
function bufferedStdout(): pino.DestinationStream {
  if (stdout) return stdout;
  const stream = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  stdout = stream;
  const timer = setInterval(() => {
    try {
      stream.flush();
    } catch {
      clearInterval(timer); // destroyed: the process is ending
      stdout = undefined;
    }
  }, LOG_FLUSH_MS);
  timer.unref();
  return stream;
}

export type { Logger } from 'pino';
