/**
 * Posts: the calendar (week or month in the user's zone; drag or Alt+arrows to reschedule),
 * a post's detail (`?post=<id>`), the composer (text, a variant per account, media with alt
 * text, a time in the user's zone) and the approvals queue (admins approve or reject with a
 * comment). Editors and above see the composer and can move posts; admins see Approve /
 * Reject. Every `post_status` event over the WebSocket reloads the calendar and the open
 * post, so a post turning published shows without a reload.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { ChatSocket } from '../chat-socket.ts';
import { useSearch } from '../router.ts';
import { can, useSession } from '../session.tsx';
import { ErrorBox, formatTime } from '../ui.tsx';
import { CalendarView } from './Calendar.tsx';
import { Composer } from './Composer.tsx';
import { PostDetail } from './PostDetail.tsx';

interface PostSummary {
  id: string;
  content: string;
  targets: Array<{ id: string; platform: string; status: string; scheduledAt: string | null }>;
}

export function PostsPage() {
  const session = useSession();
  const editor = can(session.workspace.role, 'editor');
  const postId = useSearch().get('post');
  const [zone, setZone] = useState(session.timeZone);
  const [approvals, setApprovals] = useState<PostSummary[]>([]);
  const [reloadKey, setReloadKey] = useState(0);
  const [error, setError] = useState<unknown>(null);

  const changed = useCallback(() => setReloadKey((k) => k + 1), []);
  useEffect(() => {
    api.get<{ items: PostSummary[] }>('/v1/approvals').then((r) => setApprovals(r.items), setError);
  }, [reloadKey]);
  // Live: every `post_status` event of the workspace (the publishing worker's included) reloads.
  useEffect(() => {
    const socket = new ChatSocket();
    socket.on((e) => {
      if (e.type === 'post_status') changed();
    });
    return () => socket.close();
  }, [changed]);

  return (
    <>
      <h1>Posts</h1>
      <ErrorBox error={error} />
      {postId && <PostDetail postId={postId} zone={zone} editor={editor} reloadKey={reloadKey} onChanged={changed} />}
      {editor && <Composer onCreated={changed} />}
      <CalendarView zone={zone} editor={editor} reloadKey={reloadKey} onZone={setZone} />
      <Approvals items={approvals} zone={zone} onChanged={changed} />
    </>
  );
}

function Approvals(props: { items: PostSummary[]; zone: string; onChanged(): void }) {
  const session = useSession();
  const admin = can(session.workspace.role, 'admin');
  const [comment, setComment] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);

  const act = async (id: string, action: 'approve' | 'reject') => {
    setError(null);
    try {
      const c = comment[id]?.trim();
      await api.post(`/v1/posts/${id}/${action}`, c ? { comment: c } : {});
      props.onChanged();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className="card" aria-labelledby="approvals-h">
      <h2 id="approvals-h">Waiting for approval</h2>
      <ErrorBox error={error} />
      {props.items.length === 0 && <p>Nothing is waiting.</p>}
      {props.items.map((p) => (
        <div key={p.id} className="approval" data-testid="approval">
          <p>{p.content}</p>
          <ul>
            {p.targets.map((t) => (
              <li key={t.id}>
                {t.platform}: {t.status}
                {t.scheduledAt && `, ${formatTime(t.scheduledAt, props.zone)}`}
              </li>
            ))}
          </ul>
          {admin && (
            <div className="row">
              <label>
                Comment <small>(required to reject)</small>
                <input
                  value={comment[p.id] ?? ''}
                  onChange={(e) => setComment({ ...comment, [p.id]: e.target.value })}
                />
              </label>
              <div className="actions">
                <button type="button" onClick={() => void act(p.id, 'approve')}>
                  Approve
                </button>{' '}
                <button type="button" className="danger" onClick={() => void act(p.id, 'reject')}>
                  Reject
                </button>
              </div>
            </div>
          )}
        </div>
      ))}
    </section>
  );
}
