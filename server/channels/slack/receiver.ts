/**
 * Bolt's receiver on Herald's Fastify: `POST /v1/channels/slack/events` takes the Events API
 * and interactivity (button presses). Each request's signature is checked on the raw body with
 * the signing secret, and a timestamp older than 5 minutes is refused (Bolt's
 * `isValidSlackRequest`; api.slack.com/authentication/verifying-requests-from-slack); anything
 * else is 401 and nothing runs. Slack is answered within its 3 seconds: as soon as the
 * listener acknowledges, or after `ACK_WAIT_MS` at the latest. Redeliveries
 * (`X-Slack-Retry-Num`) are handed on like first deliveries: the app runs each `event_id` once
 * (`SlackChannel`, remembered in Redis), so a retry whose first delivery never got through runs.
 */
import { isValidSlackRequest, type App, type Receiver, type ReceiverEvent } from '@slack/bolt';
import type { FastifyPluginAsync } from 'fastify';
import { HeraldError } from '../../../core/index.js';

export const SLACK_EVENTS_PATH = '/channels/slack/events';
/** Longest wait for a listener's acknowledgement before Slack is answered anyway (Slack waits 3 s). */
export const ACK_WAIT_MS = 2_500;
export class FastifyReceiver implements Receiver {
  #app: App | undefined;

  constructor(private readonly signingSecret: string) {}

  init(app: App): void {
    this.#app = app;
  }

  start(): Promise<unknown> {
    return Promise.resolve();
  }

  stop(): Promise<unknown> {
    return Promise.resolve();
  }

  /** The route, registered under `/v1` by the API. */
  readonly routes: FastifyPluginAsync = async (app) => {
    // The signature covers the exact bytes: bodies stay strings until it is checked.
    app.addContentTypeParser(
      ['application/json', 'application/x-www-form-urlencoded'],
      { parseAs: 'string' },
      (_req, body, done) => done(null, body),
    );
    app.post(SLACK_EVENTS_PATH, { schema: { hide: true } }, async (req, reply) => {
      const raw = typeof req.body === 'string' ? req.body : '';
      const signature = req.headers['x-slack-signature'];
      const timestamp = Number(req.headers['x-slack-request-timestamp']);
      const valid =
        typeof signature === 'string' &&
        Number.isFinite(timestamp) &&
        isValidSlackRequest({
          signingSecret: this.signingSecret,
          body: raw,
          headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp },
        });
      if (!valid)
        throw new HeraldError('unauthorized', { message: 'The Slack signature is missing, wrong or too old' });
      let body: Record<string, unknown>;
      try {
        body = (req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')
          ? (JSON.parse(new URLSearchParams(raw).get('payload') ?? '{}') as Record<string, unknown>)
          : (JSON.parse(raw) as Record<string, unknown>);
      } catch {
        throw new HeraldError('malformed_json');
      }
      if (body.type === 'url_verification') return reply.send({ challenge: body.challenge });
      let acked: (v: unknown) => void = () => undefined;
      const ack = new Promise<unknown>((resolve) => (acked = resolve));
      const event: ReceiverEvent = {
        body,
        ack: async (response?: unknown) => acked(response),
      };
      this.#app?.processEvent(event).catch((err: unknown) => req.log.error({ err }, 'slack event failed'));
      const timer = new Promise((resolve) => setTimeout(resolve, ACK_WAIT_MS).unref());
      const response = await Promise.race([ack, timer]);
      return reply.status(200).send(response ?? '');
    });
  };
}
