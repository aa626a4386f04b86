/**
 * Herald's logger: pino, JSON lines, with redaction of every field that can carry a secret
 * (auth headers, cookies, tokens, passwords, keys) wherever it appears up to two levels deep.
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

export function createLogger(
  options: { level: string; destination?: pino.DestinationStream } & LoggerOptions = { level: 'info' },
): Logger {
  const { destination, ...rest } = options;
  const opts: LoggerOptions = {
    ...rest,
    base: { service: 'herald' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(opts, destination) : pino(opts);
}

export type { Logger } from 'pino';
