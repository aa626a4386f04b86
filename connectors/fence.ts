/**
 * The attempt fence: a publish attempt that another worker has taken over must not write to
 * the platform any more. A worker starved of CPU (or paused) past its job lock and account
 * lease keeps running; meanwhile another worker takes the target, marks the first attempt
 * uncertain, looks the post up, finds nothing (the first worker has not posted yet) and posts.
 * Without a fence the first worker then wakes and posts too. Publishing runs each attempt's
 * platform calls inside `withFence`, and every request that changes something (anything but
 * GET and HEAD) checks the fence first: a superseded attempt stops with `AttemptSuperseded`
 * before its request leaves. What is left is the gap between that check and the request
 * being sent, which no client-side fence can close (the platforms take no fencing token).
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Thrown instead of sending a request for an attempt that is no longer the target's current one. */
export class AttemptSuperseded extends Error {
  constructor(message = 'another worker took this publish attempt over; it stops here without writing') {
    super(message);
    this.name = 'AttemptSuperseded';
  }
}

/**
 * The `AttemptSuperseded` behind an error, if any: a client library may wrap what its fetch
 * threw (`@atproto/xrpc` makes it an `XRPCError`, which Bluesky's classifier wraps again).
 */
export function supersededIn(err: unknown): AttemptSuperseded | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++)
    if (e instanceof AttemptSuperseded) return e;
  return undefined;
}

const fences = new AsyncLocalStorage<() => Promise<void>>();

/** Runs `fn` with `fence` checked before each of its requests that change something. */
export function withFence<T>(fence: () => Promise<void>, fn: () => Promise<T>): Promise<T> {
  return fences.run(fence, fn);
}

/** Throws `AttemptSuperseded` when the attempt this code runs for has been taken over (writes only). */
export async function checkFence(method: string | undefined): Promise<void> {
  const m = (method ?? 'GET').toUpperCase();
  if (m === 'GET' || m === 'HEAD') return;
  const fence = fences.getStore();
  if (fence) await fence();
}
