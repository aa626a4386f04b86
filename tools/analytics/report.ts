/**
 * The weekly report of a workspace: last week (Monday–Sunday in the caller's zone) beside
 * the week before, its top posts, what works, and two SVG charts (engagements per day,
 * engagements per platform against the week before). Markdown links the charts by name;
 * REST serves them beside it (`/v1/analytics/report/charts/<name>.svg`).
 */
import { DateTime } from 'luxon';
import { requireRole } from '../../core/index.js';
import type { ServiceContext } from '../scheduling/context.js';
import { showTime } from '../scheduling/time.js';
import { lineChart, pairedBarChart } from './charts.js';
import { periodRange } from './periods.js';
import { dailySeries, overview, rankedPosts, type AnalyticsDeps, type Figures } from './queries.js';
import { whatWorks } from './what-works.js';

export const REPORT_CHARTS = ['daily', 'platforms'] as const;
export type ReportChart = (typeof REPORT_CHARTS)[number];

export interface WeeklyReport {
  from: string;
  to: string;
  timeZone: string;
  markdown: string;
  charts: Record<ReportChart, string>;
}

const pct = (n: number | null) => (n === null ? 'n/a' : `${n > 0 ? '+' : ''}${n}%`);
const orNa = (n: number | null) => (n === null ? 'not reported' : String(n));
const clip = (s: string, n = 80) => (s.length > n ? `${s.slice(0, n - 1)}…` : s).replace(/\s+/g, ' ');

/** Last full week in the caller's zone, with its charts. */
export async function weeklyReport(deps: AnalyticsDeps, ctx: ServiceContext, now = new Date()): Promise<WeeklyReport> {
  requireRole(ctx, 'viewer');
  const zone = ctx.timeZone;
  const range = periodRange('last_week', zone, now);
  const [o, daily, top, works] = await Promise.all([
    overview(deps, ctx, range),
    dailySeries(deps, ctx, range),
    rankedPosts(deps, ctx, range, { order: 'top', limit: 3 }),
    whatWorks(deps, ctx, { now }),
  ]);
  const c = o.current;
  const p = o.previous;
  const rate = (f: Figures) => (f.engagementRate === null ? 'not reported' : `${(f.engagementRate * 100).toFixed(1)}%`);
  const rows = [
    ['Posts published', c.posts, p.posts, pct(o.changePct.posts)],
    ['Engagements', c.engagements, p.engagements, pct(o.changePct.engagements)],
    [
      `Impressions${c.includes.impressions.length ? ` (${c.includes.impressions.join(', ')})` : ''}`,
      orNa(c.impressions),
      orNa(p.impressions),
      pct(o.changePct.impressions),
    ],
    ['Engagement rate', rate(c), rate(p), pct(o.changePct.engagementRate)],
    [
      `Follower growth${c.includes.followerGrowth.length ? ` (${c.includes.followerGrowth.join(', ')})` : ''}`,
      orNa(c.followerGrowth),
      orNa(p.followerGrowth),
      pct(o.changePct.followerGrowth),
    ],
  ].map(([label, a, b, ch]) => `| ${String(label)} | ${String(a)} | ${String(b)} | ${String(ch)} |`);
  const first = DateTime.fromJSDate(range.from, { zone }).toFormat('ccc d LLL');
  const last = DateTime.fromJSDate(new Date(range.to.getTime() - 1), { zone }).toFormat('ccc d LLL yyyy');
  const md = [
    `# Weekly report: ${first} – ${last}`,
    '',
    `Times in ${zone}. Compared with the week before.`,
    '',
    '| | This week | Week before | Change |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
    '',
    '![Engagements per day](charts/daily.svg)',
    '',
    '![Engagements per platform](charts/platforms.svg)',
    '',
    '## Top posts',
    '',
    ...(top.items.length
      ? top.items.map(
          (t, i) =>
            `${i + 1}. ${t.platform}, ${t.publishedAt}: ${t.engagements ?? 0} engagements — "${clip(t.text)}"${t.url ? ` (${t.url})` : ''}`,
        )
      : ['No measured posts last week.']),
    '',
    '## What works for you',
    '',
    works.summary,
    '',
    ...(o.notReported.length
      ? ['## Not reported', '', ...o.notReported.map((n) => `- ${n.platform}: ${n.metric} — ${n.reason}`), '']
      : []),
    `_Generated ${showTime(now, zone)}._`,
  ].join('\n');
  const platforms = [...new Set([...c.byPlatform, ...p.byPlatform].map((x) => x.platform))].sort();
  return {
    from: showTime(range.from, zone),
    to: showTime(range.to, zone),
    timeZone: zone,
    markdown: md,
    charts: {
      daily: lineChart(
        'Engagements per day of publication',
        daily.days.map((d) => ({ label: DateTime.fromISO(d.day).toFormat('ccc d'), value: d.engagements })),
      ),
      platforms: pairedBarChart(
        'Engagements per platform',
        platforms.map((name) => ({
          label: name,
          current: c.byPlatform.find((x) => x.platform === name)?.engagements ?? 0,
          previous: p.byPlatform.find((x) => x.platform === name)?.engagements ?? 0,
        })),
        { current: 'Last week', previous: 'Week before' },
      ),
    },
  };
}
