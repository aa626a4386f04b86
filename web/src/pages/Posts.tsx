/**
 * Posts: the week's calendar in the user's zone (`GET /v1/calendar`), the composer (one text,
 * a variant per chosen account, a time read in the user's zone; the API's validation errors
 * shown as it lists them) and the approvals queue (admins approve or reject with a comment).
 * Editors and above see the composer; admins see Approve / Reject. The week follows
 * `post_status` events over the WebSocket, so a post turning published shows without a reload.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { ChatSocket } from '../chat-socket.ts';
import { can, useSession } from '../session.tsx';
import { ErrorBox, formatTime } from '../ui.tsx';
import type { Account } from './Accounts.tsx';

interface CalendarItem {
  id: string;
  postId: string;
  platform: string;
  status: string;
  content?: string;
  scheduledAt: string;
  scheduledAtLocal: string;
}
interface Calendar {
  timeZone: string;
  items: CalendarItem[];
}
interface PostSummary {
  id: string;
  content: string;
  targets: Array<{ id: string; platform: string; status: string; scheduledAt: string | null }>;
}

/** Today's date (YYYY-MM-DD) in `zone`. */
const todayIn = (zone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(),
  );

/** A local date moved by `days` (calendar arithmetic on the date alone, no zone involved). */
function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The Monday of the week holding `date`. */
function mondayOf(date: string): string {
  const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
  return addDays(date, -weekday);
}

export function PostsPage() {
  const session = useSession();
  const [zone, setZone] = useState(session.timeZone);
  const [weekStart, setWeekStart] = useState(() => mondayOf(todayIn(session.timeZone)));
  const [calendar, setCalendar] = useState<Calendar | null>(null);
  const [approvals, setApprovals] = useState<PostSummary[]>([]);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const from = `${weekStart}T00:00`;
      const to = `${addDays(weekStart, 7)}T00:00`;
      const cal = await api.get<Calendar>(`/v1/calendar?from=${from}&to=${to}`);
      setCalendar(cal);
      setZone(cal.timeZone);
      setApprovals((await api.get<{ items: PostSummary[] }>('/v1/approvals')).items);
    } catch (err) {
      setError(err);
    }
  }, [weekStart]);
  useEffect(() => void load(), [load]);
  // Live: every `post_status` event of the workspace (the publishing worker's included) reloads the week.
  useEffect(() => {
    const socket = new ChatSocket();
    socket.on((e) => {
      if (e.type === 'post_status') void load();
    });
    return () => socket.close();
  }, [load]);

  const days = Array.from({ length: 7 }, (_, i) => addDays(weekStart, i));
  return (
    <>
      <h1>Posts</h1>
      <ErrorBox error={error} />
      {can(session.workspace.role, 'editor') && <Composer onCreated={() => void load()} />}
      <section className="card" aria-labelledby="cal-h">
        <div className="row">
          <h2 id="cal-h" style={{ flex: 1 }}>
            Week of {weekStart} <small>({zone})</small>
          </h2>
          <button type="button" className="secondary" onClick={() => setWeekStart(addDays(weekStart, -7))}>
            Previous week
          </button>
          <button type="button" className="secondary" onClick={() => setWeekStart(mondayOf(todayIn(zone)))}>
            This week
          </button>
          <button type="button" className="secondary" onClick={() => setWeekStart(addDays(weekStart, 7))}>
            Next week
          </button>
        </div>
        <div className="calendar" data-testid="calendar">
          {days.map((day) => (
            <div key={day} className="day" data-day={day}>
              <h3>
                {new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', timeZone: 'UTC' }).format(
                  new Date(`${day}T00:00:00Z`),
                )}
              </h3>
              {calendar?.items
                .filter((i) => i.scheduledAtLocal.slice(0, 10) === day)
                .map((i) => (
                  <div key={i.id} className={`slot ${i.status}`} data-testid="calendar-item">
                    <div>
                      {i.scheduledAtLocal.slice(11, 16)} · {i.platform} · {i.status}
                    </div>
                    {i.content && <div>{i.content.length > 80 ? `${i.content.slice(0, 80)}…` : i.content}</div>}
                  </div>
                ))}
            </div>
          ))}
        </div>
      </section>
      <Approvals items={approvals} zone={zone} onChanged={() => void load()} />
    </>
  );
}

function Composer(props: { onCreated(): void }) {
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [content, setContent] = useState('');
  const [chosen, setChosen] = useState<Record<string, string | null>>({});
  const [at, setAt] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  useEffect(() => {
    api.get<{ items: Account[] }>('/v1/social-accounts').then((r) => setAccounts(r.items), setError);
  }, []);

  const submit = async (e: FormEvent, mode: 'schedule' | 'draft' | 'now') => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const targets = Object.entries(chosen).map(([socialAccountId, variant]) => ({
      socialAccountId,
      ...(variant !== null ? { content: variant } : {}),
    }));
    const when =
      mode === 'now' ? { publishNow: true } : mode === 'draft' ? { draft: true, ...(at ? { at } : {}) } : { at };
    try {
      const post = await api.post<{ targets?: Array<{ status: string }> }>('/v1/posts', { content, targets, ...when });
      // With approval required, an editor's post waits for an admin instead of being queued.
      const waiting = post.targets?.some((t) => t.status === 'pending_approval');
      setDone(
        waiting
          ? 'Submitted for approval.'
          : mode === 'draft'
            ? 'Draft saved.'
            : mode === 'now'
              ? 'Publishing now.'
              : 'Scheduled.',
      );
      setContent('');
      setChosen({});
      props.onCreated();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className="card" aria-labelledby="composer-h">
      <h2 id="composer-h">New post</h2>
      <form onSubmit={(e) => void submit(e, 'schedule')}>
        {/* Label apart from the field: a wrapping label's name would include the typed text. */}
        <div className="field">
          <label htmlFor="composer-text">Text</label>
          <textarea id="composer-text" rows={3} value={content} onChange={(e) => setContent(e.target.value)} />
        </div>
        <fieldset>
          <legend>Accounts</legend>
          {accounts.length === 0 && <p>Connect an account first (Accounts).</p>}
          {accounts.map((a) => {
            const on = a.id in chosen;
            const variant = chosen[a.id] ?? null;
            return (
              <div key={a.id}>
                <label style={{ flexDirection: 'row', alignItems: 'center' }}>
                  <input
                    type="checkbox"
                    checked={on}
                    onChange={() => {
                      const next = { ...chosen };
                      if (on) delete next[a.id];
                      else next[a.id] = null;
                      setChosen(next);
                    }}
                  />
                  {a.platform} · {a.handle}
                </label>
                {on && (
                  <div className="field">
                    <label htmlFor={`variant-${a.id}`}>
                      Text for {a.handle}{' '}
                      <small>({(variant ?? content).length} characters; empty uses the text above)</small>
                    </label>
                    <textarea
                      id={`variant-${a.id}`}
                      rows={2}
                      value={variant ?? ''}
                      placeholder={content}
                      onChange={(e) => setChosen({ ...chosen, [a.id]: e.target.value || null })}
                    />
                  </div>
                )}
              </div>
            );
          })}
        </fieldset>
        <label>
          When (your time zone)
          <input type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} />
        </label>
        <ErrorBox error={error} />
        {done && (
          <p className="notice" role="status">
            {done}
          </p>
        )}
        <div className="row">
          <button type="submit">Schedule</button>
          <button type="button" className="secondary" onClick={(e) => void submit(e, 'draft')}>
            Save draft
          </button>
          <button type="button" className="secondary" onClick={(e) => void submit(e, 'now')}>
            Publish now
          </button>
        </div>
      </form>
    </section>
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
