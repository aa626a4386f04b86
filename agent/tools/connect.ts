/**
 * The agent's account-connecting tool: a zod schema and one call into `tools/accounts` —
 * `connectWithPassword` with an app password, or `startConnect` without one, which answers the
 * link to Bluesky's authorization page (OAuth, the same service `POST /v1/social-accounts/connect`
 * calls); either checks the caller's role (admins only) like every channel.
 * The app password is never part of the action shown for confirmation or of the tool's
 * output; it does pass through the conversation the user typed it into, which is why the
 * description steers people to an app password (revocable on its own), never the main one.
 */
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { connectWithPassword, startConnect } from '../../tools/accounts/index.js';
import { defineTool, type ToolEnv } from './types.js';

function accountsOf(env: ToolEnv) {
  if (!env.accounts) {
    throw new HeraldError('platform_not_configured', { message: 'Connecting accounts is not available here' });
  }
  return env.accounts;
}

export const connectTools = [
  defineTool({
    name: 'connect_bluesky',
    description:
      "Connects a Bluesky account to this workspace. With an app password the user made in Bluesky's settings (Settings → Privacy and security → App passwords; never the account's main password) it connects at once; without one it answers a link (authorizeUrl) to Bluesky's own sign-in and consent page (OAuth, what Bluesky recommends): give the user that link to open. Never repeat the app password back. Admins only.",
    schema: z.object({
      identifier: z.string().min(3).max(2100).describe('Handle such as alice.bsky.social, or a DID'),
      appPassword: z
        .string()
        .min(1)
        .max(200)
        .optional()
        .describe('The app password, e.g. abcd-efgh-ijkl-mnop; leave out to connect through Bluesky (OAuth)'),
    }),
    sideEffect: true,
    describe: async (_env, args) => ({
      summary: args.appPassword
        ? `Connect the Bluesky account ${args.identifier} with the app password you gave`
        : `Start connecting the Bluesky account ${args.identifier} on Bluesky's authorization page`,
      details: {
        tool: 'connect_bluesky',
        platform: 'bluesky',
        identifier: args.identifier,
        with: args.appPassword ? 'app_password' : 'oauth',
      },
    }),
    run: (env, args) => {
      const ctx = {
        workspaceId: env.session.workspaceId,
        userId: env.session.userId,
        role: env.session.role,
        channel: env.session.channel,
      };
      return args.appPassword
        ? connectWithPassword(accountsOf(env), ctx, {
            platform: 'bluesky',
            identifier: args.identifier,
            appPassword: args.appPassword,
          })
        : startConnect(accountsOf(env), ctx, { platform: 'bluesky', handle: args.identifier });
    },
  }),
];
