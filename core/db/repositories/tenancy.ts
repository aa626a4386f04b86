/**
 * Workspaces, users and memberships. A workspace is the tenant: every other repository takes
 * its id explicitly. Users are global (one person may belong to several workspaces).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { memberships, users, workspaces } from '../schema.js';
import { mapConstraintErrors } from '../pg-errors.js';

export type Workspace = typeof workspaces.$inferSelect;
export type User = typeof users.$inferSelect;
export type Role = (typeof memberships.$inferSelect)['role'];

export function createWorkspace(db: Db, input: { name: string; slug: string; timeZone?: string }): Promise<Workspace> {
  return mapConstraintErrors(async () => {
    const [row] = await db.insert(workspaces).values(input).returning();
    return row!;
  }, `Workspace "${input.slug}"`);
}

export async function getWorkspace(db: Db, workspaceId: string): Promise<Workspace | undefined> {
  const [row] = await db.select().from(workspaces).where(eq(workspaces.id, workspaceId));
  return row;
}

export function createUser(
  db: Db,
  input: { email: string; passwordHash?: string; displayName?: string; timeZone?: string },
): Promise<User> {
  return mapConstraintErrors(async () => {
    const [row] = await db
      .insert(users)
      .values({ ...input, email: input.email.trim().toLowerCase() })
      .returning();
    return row!;
  }, `A user with email ${input.email}`);
}

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(sql`lower(${users.email}) = ${email.trim().toLowerCase()}`);
  return row;
}

export async function getUser(db: Db, userId: string): Promise<User | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, userId));
  return row;
}

export function addMember(db: Db, workspaceId: string, userId: string, role: Role): Promise<void> {
  return mapConstraintErrors(async () => {
    await db.insert(memberships).values({ workspaceId, userId, role });
  }, 'This membership');
}

export async function getRole(db: Db, workspaceId: string, userId: string): Promise<Role | undefined> {
  const [row] = await db
    .select({ role: memberships.role })
    .from(memberships)
    .where(and(eq(memberships.workspaceId, workspaceId), eq(memberships.userId, userId)));
  return row?.role;
}

export function listMembers(db: Db, workspaceId: string): Promise<Array<{ user: User; role: Role }>> {
  return db
    .select({ user: users, role: memberships.role })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.workspaceId, workspaceId))
    .orderBy(memberships.createdAt);
}

export async function listWorkspacesOfUser(
  db: Db,
  userId: string,
): Promise<Array<{ workspace: Workspace; role: Role }>> {
  return db
    .select({ workspace: workspaces, role: memberships.role })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(eq(memberships.userId, userId))
    .orderBy(workspaces.name);
}
