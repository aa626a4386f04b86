/**
 * Trend research (docs/trends.md): the workspace's niche (keywords and where to look), what is
 * rising in it with each source and why it is relevant, ideas for a topic turned into a draft
 * in one step, hashtags for a draft, and trend alerts (mute, daily cap, cool-down, recent).
 * Evidence is outside text: shown as quoted data with its link. The server checks every action.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { can, useSession } from '../session.tsx';
import { ErrorBox, formatTime } from '../ui.tsx';

interface Niche {
  keywords: string[];
  languages: string[];
  mastodonInstances: string[];
  subreddits: string[];
  regions: string[];
  updatedAt: string | null;
}
interface Why {
  keywords: string[];
  nearest: string | null;
  similarity: number | null;
  embedder: string | null;
}
interface Evidence {
  source: string;
  title: string;
  url: string | null;
  engagement: number;
  velocity: number;
  relevance: number | null;
}
interface Topic {
  term: string;
  mentions: { current: number; previous: number };
  sources: string[];
  relevance: number;
  why: Why;
  velocity: number;
  score: number;
  evidence: Evidence[];
}
interface Health {
  source: string;
  lastOkAt: string | null;
  lastErrorAt: string | null;
  lastError: string | null;
  lastItems: number;
  failing: boolean;
}
interface Trends {
  windowHours: number;
  topics: Topic[];
  sources: Health[];
  note: string;
}
interface Idea {
  angle: string;
  text: string;
  potential: number;
  basedOn: { source: string; url: string | null } | null;
}
interface Alerts {
  settings: { mutedUntil: string | null; mutedTerms: string[]; perDay: number; cooldownHours: number };
  recent: Array<{ term: string; score: number; mentions: number; recipients: number; sentAt: string }>;
}
interface Hashtags {
  platform: string | null;
  hashtags: Array<{ tag: string; score: number; why: string }>;
  note: string;
}
interface Account {
  id: string;
  platform: string;
  handle: string;
}

const PLATFORMS = [
  'x',
  'bluesky',
  'mastodon',
  'linkedin',
  'instagram',
  'facebook',
  'threads',
  'tiktok',
  'youtube',
  'pinterest',
];
const list = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export function whyText(t: Pick<Topic, 'why' | 'relevance'>): string {
  const parts: string[] = [];
  if (t.why.keywords.length) parts.push(`names ${t.why.keywords.map((k) => `"${k}"`).join(', ')}`);
  if (t.why.nearest && t.why.similarity !== null)
    parts.push(`close to "${t.why.nearest}" (${t.why.similarity.toFixed(2)} by ${t.why.embedder ?? 'embedder'})`);
  return `${Math.round(t.relevance * 100)}% relevant${parts.length ? `: ${parts.join('; ')}` : ''}`;
}

function NicheForm({ niche, editor, onSaved }: { niche: Niche; editor: boolean; onSaved: (n: Niche) => void }) {
  const [form, setForm] = useState({
    keywords: niche.keywords.join(', '),
    languages: niche.languages.join(', '),
    mastodonInstances: niche.mastodonInstances.join(', '),
    subreddits: niche.subreddits.join(', '),
    regions: niche.regions.join(', '),
  });
  const [error, setError] = useState<unknown>(null);
  const save = (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    api
      .put<Niche>('/v1/trends/niche', {
        keywords: list(form.keywords),
        languages: list(form.languages),
        mastodonInstances: list(form.mastodonInstances),
        subreddits: list(form.subreddits),
        regions: list(form.regions),
      })
      .then(onSaved, setError);
  };
  const field = (key: keyof typeof form, label: string, placeholder: string) => (
    <label>
      {label}
      <input
        value={form[key]}
        placeholder={placeholder}
        disabled={!editor}
        onChange={(e) => setForm({ ...form, [key]: e.target.value })}
      />
    </label>
  );
  return (
    <form onSubmit={save} aria-label="Niche">
      <h2>Niche</h2>
      <ErrorBox error={error} />
      {field('keywords', 'Keywords', 'espresso, cold brew')}
      {field('languages', 'Languages', 'en, fr')}
      {field('mastodonInstances', 'Mastodon instances', 'https://mastodon.social')}
      {field('subreddits', 'Subreddits', 'espresso, coffee')}
      {field('regions', 'Google Trends countries', 'US, FR')}
      {editor && <button type="submit">Save niche</button>}
      {niche.updatedAt && <p>Saved {formatTime(niche.updatedAt, Intl.DateTimeFormat().resolvedOptions().timeZone)}</p>}
    </form>
  );
}

function AlertsPanel({ alerts, editor, onChange }: { alerts: Alerts; editor: boolean; onChange: () => void }) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [perDay, setPerDay] = useState(String(alerts.settings.perDay));
  const [muted, setMuted] = useState(alerts.settings.mutedTerms.join(', '));
  const [error, setError] = useState<unknown>(null);
  const put = (body: Record<string, unknown>) => {
    setError(null);
    api.put('/v1/trends/alerts', body).then(onChange, setError);
  };
  const s = alerts.settings;
  return (
    <section aria-label="Alerts">
      <h2>Alerts</h2>
      <ErrorBox error={error} />
      <p data-testid="alerts-state">
        {s.mutedUntil ? `Muted until ${formatTime(s.mutedUntil, zone)}.` : 'On.'} At most {s.perDay} a day; the same
        term waits {s.cooldownHours} h.
      </p>
      {editor && (
        <div className="actions">
          {s.mutedUntil ? (
            <button type="button" onClick={() => put({ muteForHours: 0 })}>
              Unmute
            </button>
          ) : (
            <button type="button" onClick={() => put({ muteForHours: 24 })}>
              Mute for a day
            </button>
          )}
          <label>
            Per day
            <input type="number" min={0} max={20} value={perDay} onChange={(e) => setPerDay(e.target.value)} />
          </label>
          <label>
            Muted terms
            <input value={muted} onChange={(e) => setMuted(e.target.value)} />
          </label>
          <button type="button" onClick={() => put({ perDay: Number(perDay), mutedTerms: list(muted) })}>
            Save alerts
          </button>
        </div>
      )}
      <ul>
        {alerts.recent.map((a) => (
          <li key={a.sentAt + a.term}>
            {formatTime(a.sentAt, zone)}: <strong>{a.term}</strong> ({a.mentions} mentions, score {a.score}) to{' '}
            {a.recipients} member(s)
          </li>
        ))}
      </ul>
      {alerts.recent.length === 0 && <p>No alerts in the last 7 days.</p>}
    </section>
  );
}

function HashtagPanel() {
  const [platform, setPlatform] = useState('bluesky');
  const [text, setText] = useState('');
  const [result, setResult] = useState<Hashtags | null>(null);
  const [error, setError] = useState<unknown>(null);
  const ask = (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    api
      .get<Hashtags>(`/v1/trends/hashtags?platform=${platform}&text=${encodeURIComponent(text)}`)
      .then(setResult, setError);
  };
  return (
    <form onSubmit={ask} aria-label="Hashtags">
      <h2>Hashtags for a draft</h2>
      <ErrorBox error={error} />
      <label>
        Platform
        <select value={platform} onChange={(e) => setPlatform(e.target.value)}>
          {PLATFORMS.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </label>
      <label>
        Draft
        <textarea value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      <button type="submit">Suggest hashtags</button>
      {result && (
        <>
          <p>{result.note}</p>
          <ul data-testid="hashtags">
            {result.hashtags.map((h) => (
              <li key={h.tag}>
                <strong>{h.tag}</strong> — {h.why}
              </li>
            ))}
          </ul>
        </>
      )}
    </form>
  );
}

export function TrendsPage() {
  const session = useSession();
  const editor = can(session.workspace.role, 'editor');
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [niche, setNiche] = useState<Niche | null>(null);
  const [trends, setTrends] = useState<Trends | null>(null);
  const [alerts, setAlerts] = useState<Alerts | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [windowHours, setWindowHours] = useState(24 * 7);
  const [ideas, setIdeas] = useState<{ term: string; ideas: Idea[] } | null>(null);
  const [chosen, setChosen] = useState<string[]>([]);
  const [drafted, setDrafted] = useState<string | null>(null);
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
    () =>
      run(async () => {
        const [n, t, a, acc] = await Promise.all([
          api.get<Niche>('/v1/trends/niche'),
          api.get<Trends>(`/v1/trends?windowHours=${windowHours}&limit=30`),
          api.get<Alerts>('/v1/trends/alerts'),
          api.get<{ items: Account[] }>('/v1/social-accounts'),
        ]);
        setNiche(n);
        setTrends(t);
        setAlerts(a);
        setAccounts(acc.items);
      }),
    [windowHours],
  );
  useEffect(() => void load(), [load]);

  const showIdeas = (term: string) =>
    run(async () => {
      setDrafted(null);
      setIdeas(
        await api.get<{ term: string; ideas: Idea[] }>(
          `/v1/trends/ideas?term=${encodeURIComponent(term)}&windowHours=${windowHours}`,
        ),
      );
    });
  const draft = (term: string, idea: number) =>
    run(async () => {
      await api.post('/v1/trends/ideas/draft', { term, idea, accounts: chosen, windowHours });
      setDrafted(`Idea ${idea + 1} saved as a draft: find it under Posts.`);
    });

  return (
    <div className="trends">
      <h1>Trends</h1>
      <ErrorBox error={error} />
      {niche && <NicheForm key={niche.updatedAt ?? 'new'} niche={niche} editor={editor} onSaved={() => void load()} />}
      <section aria-label="Rising">
        <h2>Rising in your niche</h2>
        <label>
          Window
          <select value={windowHours} onChange={(e) => setWindowHours(Number(e.target.value))}>
            <option value={24}>a day</option>
            <option value={72}>3 days</option>
            <option value={168}>a week</option>
          </select>
        </label>
        {trends && <p>{trends.note}</p>}
        <table data-testid="rising">
          <thead>
            <tr>
              <th>Term</th>
              <th>Mentions</th>
              <th>Sources</th>
              <th>Why relevant</th>
              <th>Score</th>
              <th>Evidence (outside text)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {trends?.topics.map((t) => (
              <tr key={t.term}>
                <td>
                  <strong>{t.term}</strong>
                </td>
                <td>
                  {t.mentions.current} (was {t.mentions.previous})
                </td>
                <td>{t.sources.join(', ')}</td>
                <td>{whyText(t)}</td>
                <td>{t.score}</td>
                <td>
                  <ul>
                    {t.evidence.slice(0, 3).map((e, i) => (
                      <li key={i}>
                        [{e.source}] <q>{e.title.slice(0, 140)}</q>{' '}
                        {e.url && (
                          <a href={e.url} target="_blank" rel="noreferrer noopener">
                            link
                          </a>
                        )}
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  <button type="button" onClick={() => void showIdeas(t.term)}>
                    Ideas
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {trends && (
          <details>
            <summary>Sources</summary>
            <ul data-testid="source-health">
              {trends.sources.map((s) => (
                <li key={s.source}>
                  {s.source}:{' '}
                  {s.failing
                    ? `failing — ${s.lastError ?? 'error'}`
                    : s.lastOkAt
                      ? `ok, ${s.lastItems} items ${formatTime(s.lastOkAt, zone)}`
                      : 'not collected yet'}
                </li>
              ))}
            </ul>
          </details>
        )}
      </section>
      {ideas && (
        <section aria-label="Ideas">
          <h2>Ideas for “{ideas.term}”</h2>
          {editor && (
            <fieldset>
              <legend>Draft for</legend>
              {accounts.map((a) => (
                <label key={a.id}>
                  <input
                    type="checkbox"
                    checked={chosen.includes(a.id)}
                    onChange={(e) => setChosen(e.target.checked ? [...chosen, a.id] : chosen.filter((x) => x !== a.id))}
                  />
                  {a.platform} {a.handle}
                </label>
              ))}
            </fieldset>
          )}
          <ol>
            {ideas.ideas.map((idea, i) => (
              <li key={i}>
                <em>{idea.angle}</em> (potential {idea.potential}): {idea.text}
                {editor && (
                  <button type="button" disabled={chosen.length === 0} onClick={() => void draft(ideas.term, i)}>
                    Make draft
                  </button>
                )}
              </li>
            ))}
          </ol>
          {drafted && <p role="status">{drafted}</p>}
        </section>
      )}
      <HashtagPanel />
      {alerts && (
        <AlertsPanel
          key={JSON.stringify(alerts.settings)}
          alerts={alerts}
          editor={editor}
          onChange={() => void load()}
        />
      )}
    </div>
  );
}
