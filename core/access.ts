/**
 * Roles, ordered, and the one check every service makes before acting: the caller's role
 * (a person's membership, or what an API key's scope grants) must reach the one needed.
 * Too low is `forbidden` with `details: { required, role }`, on every channel.
 */
import { HeraldError } from './errors.js';
import type { Role } from './db/repositories/tenancy.js';

export const ROLE_ORDER: readonly Role[] = ['viewer', 'editor', 'admin', 'owner'];

export function roleAtLeast(role: Role, needed: Role): boolean {
  return ROLE_ORDER.indexOf(role) >= ROLE_ORDER.indexOf(needed);
}

export function requireRole(actor: { role: Role }, needed: Role): void {
  if (!roleAtLeast(actor.role, needed)) {
    throw new HeraldError('forbidden', {
      message: `This needs the ${needed} role; you are ${actor.role === 'admin' || actor.role === 'owner' ? 'an' : 'a'} ${actor.role}`,
      details: { required: needed, role: actor.role },
    });
  }
}
