/**
 * The success coach: the member's goals (set one from a target and a date; it starts from
 * the figure analytics measures now), each goal's progress with the forecast's range and
 * chance of arriving on time, its milestones and this week's plan; when the coach writes
 * (morning time, days off, muted nudges); and the history of what it sent, with each
 * action's state and a button to accept it (the same REST calls the agent's tools make).
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { useSession } from '../session.tsx';
import { ErrorBox, formatTime } from '../ui.tsx';
import type { Account } from './Accounts.tsx';

interface Milestone {
  value: number;
  due: string;
  reachedAt: string | null;
}
interface GoalProgress {
  goal: { id: string; label: string; baseline: number; target: number; dueDate: string; milestones: Milestone[] };
  current: number | null;
  progressPct: number | null;
  forecast: { predicted: number; low: number; high: number; probabilityPct: number; method: string } | null;
  onTrack: boolean | null;
  summary: string;
  plan: {
    postsPerWeek: number;
    reason: string;
    accounts: Array<{ platform: string; handle: string; posts: number; hours: string[] }>;
    formats: string[];
  };
}
interface Settings {
  enabled: boolean;
  dailyTime: string;
  quietDays: number[];
  muted: string[];
  timeZone: string;
}
interface HistoryItem {
  id: string;
  kind: string;
  topic: string | null;
  text: string;
  source: string;
  rejected: { reason: string } | null;
  createdAt: string;
  actions: Array<{ id: string; type: 'draft' | 'slot'; label: string; text?: string; acted: boolean }>;
}
interface History {
  items: HistoryItem[];
  effectiveness: { messages: number; actions: number; acted: number; actedPct: number | null };
}

const METRICS = [
  ['followers', 'Followers (one account)'],
  ['posts_per_week', 'Posts per week'],
  ['engagements_per_week', 'Engagements per week'],
  ['engagement_rate', 'Engagement rate (%)'],
] as const;
const KINDS = ['failing_account', 'approvals_waiting', 'no_posts', 'falling_engagement', 'draft_pile'];
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function CoachPage() {
  const session = useSession();
  const [progress, setProgress] = useState<GoalProgress[]>([]);
  const [settings, setSettings] = useState<Settings | null>(null);
  const [history, setHistory] = useState<History | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [metric, setMetric] = useState('followers');
  const [target, setTarget] = useState('1000');
  const [dueDate, setDueDate] = useState('');
  const [account, setAccount] = useState('');
  const [slotText, setSlotText] = useState<Record<string, string>>({});

  const load = useCallback(async () => {
    setError(null);
    try {
      const [p, s, h, a] = await Promise.all([
        api.get<{ goals: GoalProgress[] }>('/v1/coach/progress'),
        api.get<Settings>('/v1/coach/settings'),
        api.get<History>('/v1/coach/history'),
        api.get<{ items: Account[] }>('/v1/social-accounts'),
      ]);
      setProgress(p.goals);
      setSettings(s);
      setHistory(h);
      setAccounts(a.items);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => void load(), [load, session.workspace.id]);

  const act = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
      await load();
    } catch (err) {
      setError(err);
    }
  };
  const saveSettings = (change: Partial<Settings>) => act(() => api.put('/v1/coach/settings', { ...change }));

  return (
    <>
      <h1>Coach</h1>
      <ErrorBox error={error} />
      <section className="card" aria-labelledby="goal-h">
        <h2 id="goal-h">Set a goal</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void act(() =>
              api.post('/v1/coach/goals', {
                metric,
                target: Number(target),
                dueDate,
                ...(account ? { account } : {}),
              }),
            );
          }}
        >
          <label>
            Metric{' '}
            <select value={metric} onChange={(e) => setMetric(e.target.value)}>
              {METRICS.map(([v, l]) => (
                <option key={v} value={v}>
                  {l}
                </option>
              ))}
            </select>
          </label>{' '}
          <label>
            Target <input type="number" min="0" step="any" value={target} onChange={(e) => setTarget(e.target.value)} />
          </label>{' '}
          <label>
            By <input type="date" value={dueDate} required onChange={(e) => setDueDate(e.target.value)} />
          </label>{' '}
          <label>
            Account{' '}
            <select value={account} onChange={(e) => setAccount(e.target.value)}>
              <option value="">All accounts</option>
              {accounts.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.platform} @{a.handle}
                </option>
              ))}
            </select>
          </label>{' '}
          <button type="submit">Set goal</button>
        </form>
      </section>

      {progress.map((p) => (
        <section className="card" key={p.goal.id} aria-label={p.goal.label}>
          <h2>{p.goal.label}</h2>
          <p data-testid="goal-summary">{p.summary}</p>
          {p.current !== null && (
            <progress max={100} value={Math.max(0, Math.min(100, p.progressPct ?? 0))}>
              {p.progressPct}%
            </progress>
          )}
          {p.forecast && (
            <p>
              Forecast at {p.goal.dueDate}: {p.forecast.predicted.toLocaleString()} (90% range{' '}
              {p.forecast.low.toLocaleString()}–{p.forecast.high.toLocaleString()}),{' '}
              <strong>{p.forecast.probabilityPct}% chance</strong> of arriving on time{' '}
              <small>({p.forecast.method})</small>
            </p>
          )}
          <h3>Milestones</h3>
          <ul>
            {p.goal.milestones.map((m) => (
              <li key={m.value}>
                {m.value.toLocaleString()} by {m.due} {m.reachedAt ? '— reached' : ''}
              </li>
            ))}
          </ul>
          <h3>This week</h3>
          <p>
            {p.plan.postsPerWeek} posts: {p.plan.reason}.
          </p>
          <ul>
            {p.plan.accounts.map((a) => (
              <li key={`${a.platform}${a.handle}`}>
                {a.platform} @{a.handle}: {a.posts} post{a.posts === 1 ? '' : 's'}
                {a.hours.length ? ` at ${a.hours.join(', ')}` : ''}
              </li>
            ))}
          </ul>
          {p.plan.formats.length > 0 && <p>What works for you: {p.plan.formats.join(', ')}.</p>}
          <button type="button" onClick={() => void act(() => api.delete(`/v1/coach/goals/${p.goal.id}`))}>
            Drop goal
          </button>
        </section>
      ))}

      {settings && (
        <section className="card" aria-labelledby="settings-h">
          <h2 id="settings-h">When the coach writes</h2>
          <label>
            <input
              type="checkbox"
              checked={settings.enabled}
              onChange={(e) => void saveSettings({ enabled: e.target.checked })}
            />{' '}
            Morning message
          </label>{' '}
          <label>
            at{' '}
            <input
              type="time"
              value={settings.dailyTime}
              onChange={(e) => void saveSettings({ dailyTime: e.target.value })}
            />{' '}
            ({settings.timeZone})
          </label>
          <fieldset>
            <legend>Days off</legend>
            {DAYS.map((d, i) => (
              <label key={d}>
                <input
                  type="checkbox"
                  checked={settings.quietDays.includes(i + 1)}
                  onChange={(e) =>
                    void saveSettings({
                      quietDays: e.target.checked
                        ? [...settings.quietDays, i + 1]
                        : settings.quietDays.filter((x) => x !== i + 1),
                    })
                  }
                />
                {d}{' '}
              </label>
            ))}
          </fieldset>
          <fieldset>
            <legend>Muted nudges</legend>
            {KINDS.map((k) => (
              <label key={k}>
                <input
                  type="checkbox"
                  checked={settings.muted.includes(k)}
                  onChange={(e) =>
                    void saveSettings({
                      muted: e.target.checked ? [...settings.muted, k] : settings.muted.filter((x) => x !== k),
                    })
                  }
                />
                {k.replace(/_/g, ' ')}{' '}
              </label>
            ))}
          </fieldset>
        </section>
      )}

      {history && (
        <section className="card" aria-labelledby="history-h">
          <h2 id="history-h">History</h2>
          <p>
            {history.effectiveness.messages} messages, {history.effectiveness.acted} of {history.effectiveness.actions}{' '}
            actions acted on
            {history.effectiveness.actedPct === null ? '' : ` (${history.effectiveness.actedPct}%)`}.
          </p>
          {history.items.map((m) => (
            <article key={m.id} data-testid="coach-message">
              <h3>
                {m.kind === 'intervention' ? `Nudge: ${m.topic?.replace(/_/g, ' ')}` : m.kind} —{' '}
                {formatTime(m.createdAt, settings?.timeZone ?? 'UTC')} ({m.source})
              </h3>
              <pre>{m.text}</pre>
              {m.rejected && (
                <p>
                  <small>Model text not sent: {m.rejected.reason}</small>
                </p>
              )}
              <ul>
                {m.actions.map((a) => (
                  <li key={a.id}>
                    {a.label} {a.acted ? '✓ done' : ''}
                    {!a.acted && a.type === 'slot' && (
                      <input
                        aria-label={`Text for ${a.label}`}
                        value={slotText[`${m.id}${a.id}`] ?? a.text ?? ''}
                        onChange={(e) => setSlotText({ ...slotText, [`${m.id}${a.id}`]: e.target.value })}
                      />
                    )}
                    {!a.acted && (
                      <button
                        type="button"
                        onClick={() =>
                          void act(() =>
                            api.post(`/v1/coach/messages/${m.id}/actions/${a.id}/accept`, {
                              // The coach's drafted post unless the member wrote their own.
                              ...(a.type === 'slot' && (slotText[`${m.id}${a.id}`] ?? a.text)
                                ? { text: slotText[`${m.id}${a.id}`] ?? a.text }
                                : {}),
                            }),
                          )
                        }
                      >
                        Accept
                      </button>
                    )}
                  </li>
                ))}
              </ul>
            </article>
          ))}
        </section>
      )}
    </>
  );
}
