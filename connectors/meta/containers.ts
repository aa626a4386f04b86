/**
 * Meta's container model, shared by Instagram and Threads: create a media container (one per
 * carousel item, then the carousel), wait until its status is FINISHED, then publish it. The
 * id of every container and of the published media is written to the publish journal before
 * the next call, so a publish resumed after a crash or an uncertain answer goes on from what
 * Meta already holds:
 * - a container that is FINISHED (or still IN_PROGRESS) is published, not created again;
 * - a container whose status is PUBLISHED means the post is live: its media is found, never
 *   published a second time (and never guessed as "the newest media", which may be another post);
 * - an ERROR or EXPIRED container (24 h) is dropped and a new one created.
 * A container publishes at most once at Meta, so re-sending `*_publish` for the same journaled
 * container cannot make a second post either.
 */
import { PermanentError, TransientError, isConnectorError } from '../errors.js';
import { graphRequest, idOf, type GraphTransport } from './graph.js';
import { LABELS, type MetaPlatform } from './errors.js';

/** The journal the publishing worker hands a connector: one record per target, saved durably. */
export interface StepJournal {
  load(): Promise<Record<string, unknown> | null>;
  save(handle: Record<string, unknown>): Promise<void>;
}

/** What is journaled for one post (one thread part): container ids, then the media id. */
export interface PartSteps {
  children?: string[];
  container?: string;
  media?: string;
  /** A first comment made under the post (Facebook). */
  comment?: string;
}

export interface JournalState {
  parts: PartSteps[];
}

export type ContainerStatus = 'FINISHED' | 'IN_PROGRESS' | 'ERROR' | 'EXPIRED' | 'PUBLISHED';

export interface ContainerApi {
  platform: MetaPlatform;
  t: GraphTransport;
  /** `/{user-id}/media` (Instagram) or `/{user-id}/threads`. */
  createPath: string;
  /** `/{user-id}/media_publish` or `/{user-id}/threads_publish`. */
  publishPath: string;
  /** Fields read for a container's state: Instagram `status_code,status`; Threads `status,error_message`. */
  statusFields: string;
  /** The state and Meta's reason for an ERROR, from a container's fields. */
  readStatus(body: Record<string, unknown>): { status: ContainerStatus | string; detail: string | undefined };
  pollIntervalMs: number;
  pollTimeoutMs: number;
}

export async function loadState(journal: StepJournal | undefined): Promise<JournalState> {
  const raw = journal ? await journal.load() : null;
  const parts = Array.isArray(raw?.parts) ? (raw.parts as unknown[]) : [];
  return {
    parts: parts.map((p) => {
      const o = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
      const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
      const children = Array.isArray(o.children) ? o.children.filter((c): c is string => typeof c === 'string') : [];
      return {
        ...(children.length ? { children } : {}),
        ...(str(o.container) ? { container: str(o.container)! } : {}),
        ...(str(o.media) ? { media: str(o.media)! } : {}),
        ...(str(o.comment) ? { comment: str(o.comment)! } : {}),
      };
    }),
  };
}

/** Writes the state; a journal that cannot be written stops the publish before the next call. */
export async function saveState(journal: StepJournal | undefined, state: JournalState): Promise<void> {
  if (journal) await journal.save({ parts: state.parts.map((p) => ({ ...p })) });
}

export async function createContainer(
  api: ContainerApi,
  params: Record<string, string | number | boolean | undefined>,
): Promise<string> {
  try {
    const res = await graphRequest(api.t, { method: 'POST', path: api.createPath, params });
    return idOf(api.platform, res, `POST ${api.createPath}`);
  } catch (err) {
    // A container that may have been created but whose id never arrived is harmless: it is
    // never published and expires in 24 h. Say so, so the worker retries instead of looking up.
    if (isConnectorError(err) && err.mayHaveSucceeded) {
      throw new TransientError(err.message, {
        platform: api.platform,
        ...(err.status ? { status: err.status } : {}),
        ...(err.platformMessage ? { platformMessage: err.platformMessage } : {}),
        cause: err,
      });
    }
    throw err;
  }
}

export async function containerStatus(
  api: ContainerApi,
  id: string,
): Promise<{ status: ContainerStatus | string; detail: string | undefined }> {
  const res = await graphRequest(api.t, {
    method: 'GET',
    path: `/${encodeURIComponent(id)}`,
    params: { fields: api.statusFields },
  });
  return api.readStatus(res.body);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls until the container is FINISHED (or already PUBLISHED). ERROR is Meta refusing the
 * media (its reason in the message); EXPIRED and a wait past `pollTimeoutMs` are transient
 * (the next attempt creates a fresh container or waits again on the journaled one).
 */
export async function waitUntilReady(api: ContainerApi, id: string): Promise<'FINISHED' | 'PUBLISHED'> {
  const label = LABELS[api.platform];
  const deadline = Date.now() + api.pollTimeoutMs;
  for (;;) {
    const { status, detail } = await containerStatus(api, id);
    if (status === 'FINISHED' || status === 'PUBLISHED') return status;
    if (status === 'ERROR') {
      throw new PermanentError(`${label} could not process the media${detail ? ` (${detail})` : ''}`, {
        platform: api.platform,
        ...(detail ? { platformMessage: detail } : {}),
        reason: 'media_processing_failed',
      });
    }
    if (status === 'EXPIRED') {
      throw new TransientError(`${label} let the media container expire (24 h) before it was published`, {
        platform: api.platform,
        reason: 'container_expired',
      });
    }
    if (Date.now() + api.pollIntervalMs > deadline) {
      throw new TransientError(
        `${label} was still processing the media after ${Math.round(api.pollTimeoutMs / 1000)} s; Herald checks again on the next attempt`,
        { platform: api.platform, reason: 'still_processing' },
      );
    }
    await sleep(api.pollIntervalMs);
  }
}

/** `*_publish` for a FINISHED container: the new media id. A lost answer may have published. */
export async function publishContainer(api: ContainerApi, id: string): Promise<string> {
  const res = await graphRequest(api.t, { method: 'POST', path: api.publishPath, params: { creation_id: id } });
  return idOf(api.platform, res, `POST ${api.publishPath}`);
}

/**
 * Publishes one post from its journaled steps onward. `build` creates the containers (each id
 * journaled by `record`) and returns the one to publish; `findPublished` names the media of a
 * container Meta reports PUBLISHED.
 *
 * `latest` reads this part's steps from the journal as they are now. Two attempts on one target
 * can overlap (a worker starved past its job lock and account lease still works while another
 * takes the job over); if each published a container of its own, the post would appear twice.
 * So a new container is journaled only while the journal holds none (else the one already there
 * is used, and ours, never published, expires in 24 h), and just before `*_publish` the journal
 * must still name our container (else the other attempt publishes its own, and this one stops,
 * transient). Both attempts publishing the same container is harmless: Meta publishes it once,
 * and the one refused finds the container PUBLISHED.
 */
export async function publishPartOnce(
  api: ContainerApi,
  steps: PartSteps,
  record: () => Promise<void>,
  build: () => Promise<string>,
  findPublished: (containerId: string) => Promise<string>,
  latest?: () => Promise<PartSteps | undefined>,
): Promise<string> {
  if (steps.media) return steps.media;
  if (steps.container) {
    const { status } = await containerStatus(api, steps.container);
    if (status === 'PUBLISHED') {
      steps.media = await findPublished(steps.container);
      await record();
      return steps.media;
    }
    if (status === 'ERROR' || status === 'EXPIRED') {
      delete steps.container;
      delete steps.children;
      await record();
    }
  }
  if (!steps.container) {
    const mine = await build();
    const theirs = (await latest?.())?.container;
    if (theirs) {
      steps.container = theirs;
    } else {
      steps.container = mine;
      await record();
    }
  }
  const ready = await waitUntilReady(api, steps.container);
  if (ready === 'PUBLISHED') {
    steps.media = await findPublished(steps.container);
  } else {
    const now = latest ? await latest() : undefined;
    if (now?.media) return (steps.media = now.media);
    if (now?.container && now.container !== steps.container) {
      throw new TransientError(
        `Another attempt is publishing this post to ${LABELS[api.platform]}; Herald checks on it next`,
        { platform: api.platform, reason: 'concurrent_attempt' },
      );
    }
    try {
      steps.media = await publishContainer(api, steps.container);
    } catch (err) {
      // A definite refusal of a container another attempt has just published: the post is live.
      if (!isConnectorError(err) || err.mayHaveSucceeded) throw err;
      const after = await containerStatus(api, steps.container).catch(() => null);
      if (after?.status !== 'PUBLISHED') throw err;
      steps.media = await findPublished(steps.container);
    }
  }
  await record();
  return steps.media;
}
