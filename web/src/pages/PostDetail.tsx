/**
 * One post (`/posts?post=<id>`, from `GET /v1/posts/:id`): its text, each target with its
 * account, status, time in the user's zone, the published post's link, the last error and
 * every publish attempt, and the post's review history. Editors do what the REST API allows:
 * edit a target's text and time while it is a draft, waiting or scheduled
 * (`PUT .../targets/:targetId` with the version read), cancel it before it publishes, schedule
 * a draft at its planned times, delete the post; and, for a target that failed or could not be
 * confirmed, post the same variant again as a new post (the API has no retry of a finished
 * target: the worker already retried what could be retried).
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { navigate } from '../router.ts';
import { ErrorBox, formatTime } from '../ui.tsx';
import type { Account } from './Accounts.tsx';

interface Attempt {
  id: string;
  attemptNo: number;
  outcome: string;
  error: { kind: string; message: string } | null;
  startedAt: string;
  finishedAt: string | null;
}
interface Target {
  id: string;
  socialAccountId: string;
  platform: string;
  status: string;
  content: string;
  threadParts: string[];
  media: Array<{ mediaId: string; altText?: string }>;
  options: Record<string, unknown>;
  scheduledAt: string | null;
  scheduledAtLocal: string | null;
  publishedAt: string | null;
  platformUrl: string | null;
  lastError: { kind: string; message: string } | null;
  version: number;
  attempts: Attempt[];
}
interface Post {
  id: string;
  content: string;
  createdAt: string;
  targets: Target[];
  reviews: Array<{ id: string; decision: string; comment: string | null; createdAt: string }>;
}

const EDITABLE = ['draft', 'pending_approval', 'scheduled'];
const AGAIN = ['failed', 'unconfirmed'];

export function PostDetail(props: {
  postId: string;
  zone: string;
  editor: boolean;
  reloadKey: number;
  onChanged(): void;
}) {
  const [post, setPost] = useState<Post | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [said, setSaid] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setPost(await api.get<Post>(`/v1/posts/${props.postId}`));
    } catch (err) {
      setError(err);
    }
  }, [props.postId]);
  useEffect(() => {
    setPost(null);
    setError(null);
    setSaid(null);
  }, [props.postId]);
  // Reloaded on each `post_status` event too (reloadKey): the worker moves targets on.
  useEffect(() => void load(), [load, props.reloadKey]);
  useEffect(() => {
    api
      .get<{ items: Account[] }>('/v1/social-accounts?includeDisconnected=true')
      .then((r) => setAccounts(r.items), setError);
  }, []);
  const act = async (what: string, fn: () => Promise<unknown>) => {
    setError(null);
    setSaid(null);
    try {
      await fn();
      setSaid(what);
      await load();
      props.onChanged();
    } catch (err) {
      setError(err);
    }
  };

  const close = () => navigate('/posts');
  // Not through `act`: there is no post left to read back.
  const remove = async (id: string) => {
    if (!confirm('Delete this post and all its targets? Published posts stay on the platforms.')) return;
    setError(null);
    try {
      await api.delete(`/v1/posts/${id}`);
      props.onChanged();
      close();
    } catch (err) {
      setError(err);
    }
  };
  const handle = (id: string) => accounts.find((a) => a.id === id)?.handle ?? id.slice(0, 8);
  return (
    <section className="card detail" aria-labelledby="detail-h" data-testid="post-detail">
      <div className="row">
        <h2 id="detail-h" style={{ flex: 1 }}>
          Post
        </h2>
        <button type="button" className="secondary" onClick={close}>
          Close post
        </button>
      </div>
      <ErrorBox error={error} />
      {said && (
        <p className="notice" aria-live="polite" data-testid="detail-said">
          {said}
        </p>
      )}
      {post && (
        <>
          <p className="post-text">{post.content}</p>
          <p className="muted">Created {formatTime(post.createdAt, props.zone)}</p>
          {post.targets.map((t) => (
            <TargetCard
              key={`${t.id}.${t.version}`}
              target={t}
              handle={handle(t.socialAccountId)}
              zone={props.zone}
              editor={props.editor}
              act={act}
              postId={post.id}
            />
          ))}
          {props.editor && (
            <div className="row actions">
              {post.targets.some((t) => t.status === 'draft') && (
                <button
                  type="button"
                  onClick={() => void act('Scheduled.', () => api.post(`/v1/posts/${post.id}/schedule`, {}))}
                >
                  Schedule draft
                </button>
              )}
              <button type="button" className="danger" onClick={() => void remove(post.id)}>
                Delete post
              </button>
            </div>
          )}
          {post.reviews.length > 0 && (
            <>
              <h3>Reviews</h3>
              <ul>
                {post.reviews.map((r) => (
                  <li key={r.id}>
                    {r.decision}, {formatTime(r.createdAt, props.zone)}
                    {r.comment && `: ${r.comment}`}
                  </li>
                ))}
              </ul>
            </>
          )}
        </>
      )}
    </section>
  );
}

function TargetCard(props: {
  target: Target;
  handle: string;
  zone: string;
  editor: boolean;
  postId: string;
  act(what: string, fn: () => Promise<unknown>): Promise<void>;
}) {
  const t = props.target;
  const [content, setContent] = useState(t.content);
  const [at, setAt] = useState(t.scheduledAtLocal?.slice(0, 16) ?? '');
  const path = `/v1/posts/${props.postId}/targets/${t.id}`;
  const variant = { content, threadParts: t.threadParts, media: t.media, options: t.options, version: t.version };

  const save = (e: FormEvent) => {
    e.preventDefault();
    void props.act('Saved.', () => api.put(path, { ...variant, ...(at ? { scheduledAt: at } : {}) }));
  };
  const again = () =>
    props.act('Posted again as a new post.', async () => {
      const created = await api.post<{ id: string }>('/v1/posts', {
        content: t.content,
        publishNow: true,
        targets: [
          {
            socialAccountId: t.socialAccountId,
            content: t.content,
            threadParts: t.threadParts,
            media: t.media,
            options: t.options,
          },
        ],
      });
      navigate(`/posts?post=${created.id}`);
    });

  return (
    <article
      className={`target slot ${t.status}`}
      aria-label={`${t.platform} · ${props.handle}`}
      data-testid="detail-target"
    >
      <h3>
        {t.platform} · {props.handle}: <span data-testid="target-status">{t.status}</span>
      </h3>
      <p>
        {t.scheduledAt && <>Time: {formatTime(t.scheduledAt, props.zone)}. </>}
        {t.publishedAt && <>Published {formatTime(t.publishedAt, props.zone)}. </>}
        {t.platformUrl && (
          <a href={t.platformUrl} target="_blank" rel="noopener noreferrer" data-testid="published-link">
            View on {t.platform}
          </a>
        )}
      </p>
      {t.lastError && (
        <p className="error" data-testid="target-error">
          {t.lastError.message} <code>({t.lastError.kind})</code>
        </p>
      )}
      {t.media.length > 0 && <p className="muted">{t.media.length} media attached.</p>}
      {t.attempts.length > 0 && (
        <details>
          <summary>Attempts ({t.attempts.length})</summary>
          <ol>
            {t.attempts.map((a) => (
              <li key={a.id}>
                {a.outcome}, {formatTime(a.startedAt, props.zone)}
                {a.error && `: ${a.error.message}`}
              </li>
            ))}
          </ol>
        </details>
      )}
      {props.editor && EDITABLE.includes(t.status) && (
        <form onSubmit={save} aria-label={`Edit ${t.platform} · ${props.handle}`}>
          <div className="field">
            <label htmlFor={`edit-${t.id}`}>Text for {props.handle}</label>
            <textarea id={`edit-${t.id}`} rows={3} value={content} onChange={(e) => setContent(e.target.value)} />
          </div>
          <label>
            Time (your time zone)
            <input type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} />
          </label>
          <div className="row">
            <button type="submit">Save changes</button>
            <button
              type="button"
              className="danger"
              onClick={() => void props.act('Cancelled.', () => api.post(`${path}/cancel`, {}))}
            >
              Cancel this target
            </button>
          </div>
        </form>
      )}
      {props.editor && AGAIN.includes(t.status) && (
        <button type="button" onClick={() => void again()}>
          Post again
        </button>
      )}
    </article>
  );
}
