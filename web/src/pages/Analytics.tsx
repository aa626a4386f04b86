/**
 * Analytics: a period's figures beside the period before (what `get_analytics` answers in
 * chat), posts and engagements per day, top posts, each account's best hours to post and what
 * sets the user's top posts apart. Every figure comes from the REST API as it is; a platform
 * that does not report a metric says so instead of showing a zero.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { useSession } from '../session.tsx';
import { ErrorBox, formatTime } from '../ui.tsx';
import type { Account } from './Accounts.tsx';

const PERIODS = [
  ['last_7_days', 'Last 7 days'],
  ['last_week', 'Last week'],
  ['this_week', 'This week'],
  ['last_30_days', 'Last 30 days'],
  ['this_month', 'This month'],
] as const;

interface Figures {
  posts: number;
  measured: number;
  engagements: number;
  impressions: number | null;
  engagementRate: number | null;
  engagementsPerPost: number | null;
  followerGrowth: number | null;
  byPlatform: Array<{ platform: string; posts: number; engagements: number; impressions: number | null }>;
}
interface Overview {
  timeZone: string;
  current: Figures;
  previous: Figures;
  changePct: Record<'posts' | 'engagements' | 'impressions' | 'engagementRate' | 'followerGrowth', number | null>;
  notReported: Array<{ platform: string; metric: string; reason: string }>;
}
interface Day {
  day: string;
  posts: number;
  engagements: number;
}
interface TopPost {
  targetId: string;
  platform: string;
  publishedAt: string;
  text: string;
  url: string | null;
  engagements: number | null;
}
interface BestTimes {
  socialAccountId: string;
  basis: string;
  best: Array<{ label: string; liftPct: number }>;
}
interface WhatWorks {
  summary: string;
  findings: Array<{ feature: string; text: string; certainty: string }>;
}

const show = (n: number | null, digits = 0) =>
  n === null ? 'not reported' : n.toLocaleString(undefined, { maximumFractionDigits: digits });
const change = (pct: number | null) => (pct === null ? '' : `${pct > 0 ? '+' : ''}${Math.round(pct)}%`);

export function AnalyticsPage() {
  const session = useSession();
  const [period, setPeriod] = useState<string>('last_7_days');
  const [overview, setOverview] = useState<Overview | null>(null);
  const [days, setDays] = useState<Day[]>([]);
  const [top, setTop] = useState<TopPost[]>([]);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [best, setBest] = useState<Record<string, BestTimes>>({});
  const [works, setWorks] = useState<WhatWorks | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const q = `period=${period}`;
      const [o, d, t, a, w] = await Promise.all([
        api.get<Overview>(`/v1/analytics/overview?${q}`),
        api.get<{ days: Day[] }>(`/v1/analytics/daily?${q}`),
        api.get<{ items: TopPost[] }>(`/v1/analytics/posts?${q}&order=top&limit=5`),
        api.get<{ items: Account[] }>('/v1/social-accounts'),
        api.get<WhatWorks>('/v1/analytics/what-works'),
      ]);
      setOverview(o);
      setDays(d.days);
      setTop(t.items);
      setAccounts(a.items);
      setWorks(w);
      const times = await Promise.all(
        a.items.map((acc) => api.get<BestTimes>(`/v1/analytics/accounts/${acc.id}/best-times`)),
      );
      setBest(Object.fromEntries(times.map((b) => [b.socialAccountId, b])));
    } catch (err) {
      setError(err);
    }
  }, [period]);
  useEffect(() => void load(), [load, session.workspace.id]);

  const zone = overview?.timeZone ?? 'UTC';
  const peak = Math.max(1, ...days.map((d) => d.engagements));

  return (
    <>
      <h1>Analytics</h1>
      <ErrorBox error={error} />
      <label>
        Period{' '}
        <select value={period} onChange={(e) => setPeriod(e.target.value)}>
          {PERIODS.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </label>
      {overview && (
        <section className="card" aria-labelledby="overview-h">
          <h2 id="overview-h">Overview</h2>
          <table>
            <thead>
              <tr>
                <th />
                <th>This period</th>
                <th>Period before</th>
                <th>Change</th>
              </tr>
            </thead>
            <tbody>
              {(
                [
                  ['Posts', 'posts', 0],
                  ['Engagements', 'engagements', 0],
                  ['Impressions', 'impressions', 0],
                  ['Engagement rate', 'engagementRate', 4],
                  ['Follower growth', 'followerGrowth', 0],
                ] as const
              ).map(([label, key, digits]) => (
                <tr key={key} data-testid={`overview-${key}`}>
                  <th scope="row">{label}</th>
                  <td>{show(overview.current[key], digits)}</td>
                  <td>{show(overview.previous[key], digits)}</td>
                  <td>{change(overview.changePct[key])}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {overview.notReported.length > 0 && (
            <ul className="muted">
              {overview.notReported.map((n) => (
                <li key={`${n.platform}-${n.metric}`}>
                  {n.platform} does not report {n.metric}: {n.reason}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      <section className="card" aria-labelledby="daily-h">
        <h2 id="daily-h">Engagements per day ({zone})</h2>
        <div className="bars" role="img" aria-label="Engagements per day">
          {days.map((d) => (
            <div key={d.day} className="bar" title={`${d.day}: ${d.engagements} engagements, ${d.posts} posts`}>
              <span style={{ height: `${Math.round((d.engagements / peak) * 100)}%` }} />
              <small>{d.day.slice(5)}</small>
            </div>
          ))}
        </div>
      </section>
      <section className="card" aria-labelledby="top-h">
        <h2 id="top-h">Top posts</h2>
        {top.length === 0 ? (
          <p>No measured post in this period yet: counters are collected from an hour after publishing.</p>
        ) : (
          <ol>
            {top.map((p) => (
              <li key={p.targetId}>
                <strong>{show(p.engagements)}</strong> engagements · {p.platform} · {formatTime(p.publishedAt, zone)} —{' '}
                {p.url ? <a href={p.url}>{p.text}</a> : p.text}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section className="card" aria-labelledby="best-h">
        <h2 id="best-h">Best times to post</h2>
        {accounts.length === 0 ? (
          <p>Connect an account to learn its best hours.</p>
        ) : (
          <ul>
            {accounts.map((a) => (
              <li key={a.id} data-testid="best-times">
                <strong>
                  {a.handle} ({a.platform})
                </strong>
                : {best[a.id]?.best.map((b) => `${b.label} (${change(b.liftPct)})`).join(', ') ?? '…'} —{' '}
                {best[a.id]?.basis}
              </li>
            ))}
          </ul>
        )}
      </section>
      {works && (
        <section className="card" aria-labelledby="works-h">
          <h2 id="works-h">What works for you</h2>
          <p>{works.summary}</p>
          <ul>
            {works.findings.map((f) => (
              <li key={f.feature}>
                {f.text} <em>({f.certainty})</em>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}
