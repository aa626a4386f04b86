/**
 * A member's time zone as every channel reads it (REST, the WebSocket, OAuth tokens): their
 * own, or their workspace's while theirs is still the UTC default. Jobs that act for a member
 * at a local time (the coach's morning message, the weekly report) read it the same way; the
 * query must join `users` and `workspaces`.
 */
import { sql } from 'drizzle-orm';
import { users, workspaces } from './schema.js';

export const memberZone = sql<string>`case when ${users.timeZone} <> 'UTC' then ${users.timeZone} else ${workspaces.timeZone} end`;
