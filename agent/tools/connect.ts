/**
 * The agent's account-connecting tool: a zod schema and one call into `tools/accounts`
 * (`connectWithPassword`), which checks the caller's role (admins only) like every channel.
 * The app password is never part of the action shown for confirmation or of the tool's
 * output; it does pass through the conversation the user typed it into, which is why the
 * description steers people to an app password (revocable on its own), never the main one.
 */
import { z } from 'zod';
import { HeraldError } from '../../core/index.js';
import { connectWithPassword } from '../../tools/accounts/index.js';
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
      "Connects a Bluesky account to this workspace with its handle (or DID) and an app password the user made in Bluesky's settings (Settings → Privacy and security → App passwords; never the account's main password). Never repeat the app password back. Admins only.",
    schema: z.object({
      identifier: z.string().min(3).max(2100).describe('Handle such as alice.bsky.social, or a DID'),
      appPassword: z.string().min(1).max(200).describe('The app password, e.g. abcd-efgh-ijkl-mnop'),
    }),
    sideEffect: true,
    describe: async (_env, args) => ({
      summary: `Connect the Bluesky account ${args.identifier} with the app password you gave`,
      details: { tool: 'connect_bluesky', platform: 'bluesky', identifier: args.identifier },
    }),
    run: (env, args) =>
      connectWithPassword(
        accountsOf(env),
        {
          workspaceId: env.session.workspaceId,
          userId: env.session.userId,
          role: env.session.role,
          channel: env.session.channel,
        },
        { platform: 'bluesky', identifier: args.identifier, appPassword: args.appPassword },
      ),
  }),
];
