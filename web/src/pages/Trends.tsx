/**
 * Trend research (docs/trends.md): the workspace's niche (keywords and where to look), what is
 * rising in it with each source, why it is relevant, how far above its usual it is and whether
 * it is seasonal, ideas for a topic (with why each fits what works for you) turned into a draft
 * in one step, a post that worked adapted into drafts (with its attribution) and how adapted
 * posts did against each account's baseline, hashtags for a draft, and trend alerts (mute,
 * daily cap, cool-down, recent). Evidence and quotes are outside text: shown as quoted data
 * with their link. The server checks every action.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { navigate } from '../router.ts';
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
  /** How far the current window stands above the term's own baseline; null with too little history. */
  z: number | null;
  baseline: { windows: number; mean: number } | null;
  /** Rose around this date last year too; null when there is no data from then. */
  seasonal: boolean | null;
  lastYear: { from: string; to: string; mentions: number; expected: number } | null;
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
  worksForYou: { feature: string; certainty: string; factor: number; text: string } | null;
}
interface Structure {
  hook: { kind: string; words: number };
  format: string;
  length: { chars: number; words: number; lines: number };
  cta: string | null;
}
interface Adapted {
  adaptationId: string;
  post: {
    id: string;
    targets: Array<{ id: string; socialAccountId: string; platform: string; content: string; status: string }>;
  };
  source: { kind: string; url: string | null; author: string | null; engagement: number | null };
  structure: Structure;
  quote: string | null;
  attribution: string;
}
type Verdict = 'not_published' | 'not_measured' | 'no_baseline' | 'above' | 'in_line' | 'below';
interface Adaptations {
  adaptations: Array<{
    id: string;
    postId: string;
    createdAt: string;
    source: { kind: string; url: string | null; author: string | null; targetId: string | null };
    structure: Structure;
    quote: string | null;
    targets: Array<{
      targetId: string;
      platform: string;
      socialAccountId: string;
      status: string;
      engagements: number | null;
      baseline: { posts: number; meanEngagements: number } | null;
      lift: number | null;
      verdict: Verdict;
    }>;
  }>;
  summary: { measured: number; above: number; below: number; meanLift: number | null };
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

/** A checkbox beside its label (labels are columns by default), as the composer does. */
const INLINE = { flexDirection: 'row', alignItems: 'center' } as const;

const times = (x: number) => `${x >= 10 ? Math.round(x) : Math.round(x * 10) / 10}×`;

/** The topic against its own usual, in words: "2.4× its usual (2.5 mentions a window over 7 windows)". */
export function usualText(t: Pick<Topic, 'mentions' | 'z' | 'baseline'>): string {
  if (!t.baseline) return 'too little history to know its usual';
  const over = `over ${t.baseline.windows} earlier windows`;
  if (t.baseline.mean === 0) return `new: no mentions ${over}`;
  return `${times(t.mentions.current / t.baseline.mean)} its usual (${t.baseline.mean} mentions a window ${over}${
    t.z === null ? '' : `; ${t.z.toFixed(1)} standard deviations above`
  })`;
}

/** Whether it rose around this date last year, in words. */
export function seasonText(t: Pick<Topic, 'seasonal' | 'lastYear'>): string {
  if (t.seasonal === null || !t.lastYear) return 'no data from a year ago';
  const then = `${t.lastYear.mentions} mentions then, ${t.lastYear.expected} expected`;
  return t.seasonal
    ? `seasonal — rose around this date last year (${then})`
    : `not seasonal — flat around this date last year (${then})`;
}

const VERDICT: Record<Verdict, string> = {
  above: 'did better than usual',
  in_line: 'in line with usual',
  below: 'did worse than usual',
  not_published: 'not published yet',
  not_measured: 'not measured yet',
  no_baseline: 'too few measured posts on this account to compare',
};

const structureText = (s: Structure) =>
  `${s.hook.kind.replace('_', ' ')} hook, ${s.format.replace('_', ' ')}, ${s.length.words} words, call to action: ${
    s.cta ?? 'none'
  }`;

function AccountPicker(props: {
  legend: string;
  accounts: Account[];
  chosen: string[];
  onChange: (ids: string[]) => void;
}) {
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      {props.accounts.map((a) => (
        <label key={a.id} style={INLINE}>
          <input
            type="checkbox"
            checked={props.chosen.includes(a.id)}
            onChange={(e) =>
              props.onChange(e.target.checked ? [...props.chosen, a.id] : props.chosen.filter((x) => x !== a.id))
            }
          />
          {a.platform} {a.handle}
        </label>
      ))}
      {props.accounts.length === 0 && <p>No connected accounts: connect one under Accounts.</p>}
    </fieldset>
  );
}

/** Adapt a post that worked (a public post's address, or your own best one) into drafts (editors). */
function AdaptForm({ accounts, onAdapted }: { accounts: Account[]; onAdapted: () => void }) {
  const [url, setUrl] = useState('');
  const [topic, setTopic] = useState('');
  const [quote, setQuote] = useState(true);
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Adapted | null>(null);
  const [error, setError] = useState<unknown>(null);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    setResult(null);
    setBusy(true);
    api
      .post<Adapted>('/v1/trends/adapt', {
        ...(url.trim() ? { url: url.trim() } : {}),
        topic,
        accounts: chosen,
        quote,
      })
      .then((r) => {
        setResult(r);
        onAdapted();
      }, setError)
      .finally(() => setBusy(false));
  };
  const handle = (id: string) => {
    const a = accounts.find((x) => x.id === id);
    return a ? `${a.platform} ${a.handle}` : id;
  };
  return (
    <form onSubmit={submit} aria-label="Adapt a post">
      <h2>Adapt a post that worked</h2>
      <p id="adapt-help" className="muted">
        A public Bluesky, Mastodon or X post, or leave it empty for your own best post of the last 90 days. Its
        structure is reused, not its words; a quote is at most 120 characters and always attributed.
      </p>
      <ErrorBox error={error} />
      <label>
        Post address
        <input
          type="url"
          value={url}
          placeholder="https://bsky.app/profile/…/post/…"
          aria-describedby="adapt-help"
          onChange={(e) => setUrl(e.target.value)}
        />
      </label>
      <label>
        Your topic
        <input value={topic} required minLength={2} maxLength={200} onChange={(e) => setTopic(e.target.value)} />
      </label>
      <label style={INLINE}>
        <input type="checkbox" checked={quote} onChange={(e) => setQuote(e.target.checked)} />
        Quote it (attributed)
      </label>
      <AccountPicker legend="Draft for" accounts={accounts} chosen={chosen} onChange={setChosen} />
      <button type="submit" disabled={busy || chosen.length === 0}>
        {busy ? 'Adapting…' : 'Adapt'}
      </button>
      {result && (
        <div role="status" data-testid="adapted">
          <p>
            Saved as a draft. {result.attribution}. Its structure: {structureText(result.structure)}
            {result.source.engagement !== null && ` (${result.source.engagement} engagements when read)`}.
          </p>
          {result.quote && (
            <blockquote>
              <q>{result.quote}</q> — {result.source.author ?? result.source.kind}
            </blockquote>
          )}
          <ul>
            {result.post.targets.map((t) => (
              <li key={t.id} data-testid="adapted-draft">
                <strong>{handle(t.socialAccountId)}</strong> ({t.status})<p className="post-text">{t.content}</p>
              </li>
            ))}
          </ul>
          <a
            href={`/posts?post=${result.post.id}`}
            onClick={(e) => {
              e.preventDefault();
              navigate(`/posts?post=${result.post.id}`);
            }}
          >
            Open the draft to edit or schedule it
          </a>
        </div>
      )}
    </form>
  );
}

function AdaptedList({ data }: { data: Adaptations }) {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const s = data.summary;
  return (
    <section aria-label="Adapted posts">
      <h2>Adapted posts</h2>
      <p data-testid="adapted-summary">
        {s.measured === 0
          ? 'None measured against its account yet.'
          : `${s.measured} measured: ${s.above} did better than usual, ${s.below} worse${
              s.meanLift === null ? '' : `; on average ${times(s.meanLift)} their account's usual`
            }.`}
      </p>
      {data.adaptations.length === 0 && <p>Nothing adapted yet.</p>}
      <ul data-testid="adaptations">
        {data.adaptations.map((a) => (
          <li key={a.id}>
            {formatTime(a.createdAt, zone)}: from {a.source.kind === 'own' ? 'your own post' : a.source.kind}{' '}
            {a.source.author}{' '}
            {a.source.url && (
              <a href={a.source.url} target="_blank" rel="noreferrer noopener">
                source
              </a>
            )}{' '}
            (
            <a
              href={`/posts?post=${a.postId}`}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/posts?post=${a.postId}`);
              }}
            >
              the adapted post
            </a>
            ){a.quote && <q>{a.quote}</q>}
            <ul>
              {a.targets.map((t) => (
                <li key={t.targetId}>
                  {t.platform}: {VERDICT[t.verdict]}
                  {t.engagements !== null && ` — ${t.engagements} engagements`}
                  {t.baseline && ` against a usual ${t.baseline.meanEngagements} over ${t.baseline.posts} posts`}
                  {t.lift !== null && ` (${times(t.lift)})`}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </section>
  );
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
  const [adaptations, setAdaptations] = useState<Adaptations | null>(null);
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
        const [n, t, a, acc, ad] = await Promise.all([
          api.get<Niche>('/v1/trends/niche'),
          api.get<Trends>(`/v1/trends?windowHours=${windowHours}&limit=30`),
          api.get<Alerts>('/v1/trends/alerts'),
          api.get<{ items: Account[] }>('/v1/social-accounts'),
          api.get<Adaptations>('/v1/trends/adaptations?limit=20'),
        ]);
        setNiche(n);
        setTrends(t);
        setAlerts(a);
        setAccounts(acc.items);
        setAdaptations(ad);
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
              <th>Against its usual</th>
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
                <td>
                  {usualText(t)}
                  <br />
                  {t.seasonal ? <strong>{seasonText(t)}</strong> : seasonText(t)}
                </td>
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
          {editor && <AccountPicker legend="Draft for" accounts={accounts} chosen={chosen} onChange={setChosen} />}
          <ol>
            {ideas.ideas.map((idea, i) => (
              <li key={i}>
                <em>{idea.angle}</em> (potential {idea.potential}): {idea.text}
                {idea.worksForYou && (
                  <p className="muted">
                    What works for you ({idea.worksForYou.certainty}, potential × {idea.worksForYou.factor}):{' '}
                    {idea.worksForYou.text}
                  </p>
                )}
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
      {editor && <AdaptForm accounts={accounts} onAdapted={() => void load()} />}
      {adaptations && <AdaptedList data={adaptations} />}
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
