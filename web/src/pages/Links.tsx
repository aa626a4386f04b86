/**
 * Tracked links (docs/links.md): the workspace's short links with their clicks (people,
 * unique visitors, bots and previews apart), a form to make one (editors), and one link's
 * clicks per platform and per day. The server checks every action again.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { can, useSession } from '../session.tsx';
import { ErrorBox, formatTime } from '../ui.tsx';

interface Totals {
  clicks: number;
  uniqueClicks: number;
  botClicks: number;
}
interface Link extends Totals {
  id: string;
  code: string;
  shortUrl: string;
  destinationUrl: string;
  redirectsTo: string;
  campaignId: string | null;
  postId: string | null;
  variant: string | null;
  platform: string | null;
  createdAt: string;
}
interface Stats extends Totals {
  linkId: string;
  byPlatform: Record<string, Totals>;
  byDay: Array<Totals & { day: string }>;
}

const UTM_KEYS = ['source', 'medium', 'campaign'] as const;

function LinkStats({ link, stats }: { link: Link; stats: Stats }) {
  return (
    <section aria-label={`Clicks of ${link.shortUrl}`} data-testid="link-stats">
      <h2>{link.shortUrl}</h2>
      <p>
        Last 30 days: {stats.clicks} clicks, {stats.uniqueClicks} unique, {stats.botClicks} by bots and previews. Sends
        to <code>{link.redirectsTo}</code>
      </p>
      <h3>By platform</h3>
      <table>
        <thead>
          <tr>
            <th>Platform</th>
            <th>Clicks</th>
            <th>Unique</th>
            <th>Bots</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(stats.byPlatform).map(([platform, t]) => (
            <tr key={platform}>
              <td>{platform}</td>
              <td>{t.clicks}</td>
              <td>{t.uniqueClicks}</td>
              <td>{t.botClicks}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>By day</h3>
      <table>
        <thead>
          <tr>
            <th>Day</th>
            <th>Clicks</th>
            <th>Unique</th>
            <th>Bots</th>
          </tr>
        </thead>
        <tbody>
          {stats.byDay.map((d) => (
            <tr key={d.day}>
              <td>{d.day}</td>
              <td>{d.clicks}</td>
              <td>{d.uniqueClicks}</td>
              <td>{d.botClicks}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {stats.byDay.length === 0 && <p>No clicks in the last 30 days.</p>}
    </section>
  );
}

export function LinksPage() {
  const session = useSession();
  const editor = can(session.workspace.role, 'editor');
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [links, setLinks] = useState<Link[]>([]);
  const [destination, setDestination] = useState('');
  const [utm, setUtm] = useState<Record<string, string>>({ source: '', medium: '', campaign: '' });
  const [open, setOpen] = useState<{ link: Link; stats: Stats } | null>(null);
  const [error, setError] = useState<unknown>(null);

  const run = async (fn: () => Promise<void>) => {
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(err);
    }
  };
  const load = useCallback(
    () => run(async () => setLinks((await api.get<{ links: Link[] }>('/v1/links?limit=100')).links)),
    [],
  );
  useEffect(() => void load(), [load]);

  const create = (e: React.FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const chosen = Object.fromEntries(Object.entries(utm).filter(([, v]) => v.trim() !== ''));
      await api.post<Link>('/v1/links', {
        destinationUrl: destination,
        ...(Object.keys(chosen).length ? { utm: chosen } : {}),
      });
      setDestination('');
      await load();
    });
  };
  const show = (link: Link) =>
    run(async () => setOpen({ link, stats: await api.get<Stats>(`/v1/links/${link.id}/stats`) }));

  return (
    <div className="links">
      <h1>Tracked links</h1>
      <ErrorBox error={error} />
      {editor && (
        <form onSubmit={create} aria-label="New link">
          <label>
            Destination
            <input
              type="url"
              required
              placeholder="https://shop.example/product"
              value={destination}
              onChange={(e) => setDestination(e.target.value)}
            />
          </label>
          {UTM_KEYS.map((k) => (
            <label key={k}>
              utm_{k}
              <input value={utm[k] ?? ''} onChange={(e) => setUtm({ ...utm, [k]: e.target.value })} />
            </label>
          ))}
          <button type="submit">Make link</button>
        </form>
      )}
      <table data-testid="links-table">
        <thead>
          <tr>
            <th>Short link</th>
            <th>Destination</th>
            <th>Platform</th>
            <th>Clicks</th>
            <th>Unique</th>
            <th>Bots</th>
            <th>Made</th>
            <th>Details</th>
          </tr>
        </thead>
        <tbody>
          {links.map((l) => (
            <tr key={l.id}>
              <td>
                <code>{l.shortUrl}</code>
                {l.variant ? ` (${l.variant})` : ''}
              </td>
              <td>{l.destinationUrl}</td>
              <td>{l.platform ?? '—'}</td>
              <td>{l.clicks}</td>
              <td>{l.uniqueClicks}</td>
              <td>{l.botClicks}</td>
              <td>{formatTime(l.createdAt, zone)}</td>
              <td>
                <button type="button" onClick={() => void show(l)}>
                  Clicks
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {links.length === 0 && <p>No tracked links yet.</p>}
      {open && <LinkStats link={open.link} stats={open.stats} />}
    </div>
  );
}
