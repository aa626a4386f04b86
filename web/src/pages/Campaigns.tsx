/**
 * Affiliate campaigns (docs/campaigns.md): products (from a product page, by hand, or a CSV
 * catalogue), campaigns with their proposed timeline — each item's time and text editable,
 * approved as a whole — pause, resume and end, and the report per post with A/B verdicts.
 * Editors see the controls; the server checks every action again.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { can, useSession } from '../session.tsx';
import { ErrorBox, formatTime } from '../ui.tsx';
import type { Account } from './Accounts.tsx';

interface Product {
  id: string;
  name: string;
  url: string | null;
  price: string | null;
  currency: string | null;
  source: string;
}
interface Item {
  key: string;
  at: string;
  socialAccountId: string;
  platform: string;
  productId: string;
  kind: string;
  content: string;
  variantGroup?: string | null;
  variant?: string | null;
}
interface Campaign {
  id: string;
  name: string;
  status: string;
  timelineVersion: number;
  timeline: Item[];
  posts: Array<{ itemKey: string; platform: string; linkCode: string; status: string }>;
}
interface Figures {
  clicks: number;
  uniqueClicks: number;
  botClicks: number;
  conversions: number;
  revenue: number;
  commission: number;
  epc: number | null;
  conversionRate: number | null;
}
interface Report {
  currency: string;
  totals: Figures & { roi: number | null; cost: number };
  byPost: Array<Figures & { itemKey: string; platform: string; linkCode: string; variant: string | null }>;
  abTests: Array<{ group: string; winner: string | null; reason: string }>;
}

const pct = (n: number | null) => (n === null ? '—' : `${(n * 100).toFixed(1)}%`);
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

function ReportTable({ report }: { report: Report }) {
  const t = report.totals;
  return (
    <section aria-label="Report">
      <p data-testid="campaign-totals">
        {t.clicks} clicks ({t.uniqueClicks} unique, {t.botClicks} bots apart) · {t.conversions} conversions · revenue{' '}
        {t.revenue} {report.currency} · commission {t.commission} {report.currency} · EPC {t.epc ?? '—'} · conversion
        rate {pct(t.conversionRate)} · ROI {t.roi === null ? '—' : pct(t.roi)}
      </p>
      <table>
        <thead>
          <tr>
            <th>Post</th>
            <th>Platform</th>
            <th>Clicks</th>
            <th>Bots</th>
            <th>Conversions</th>
            <th>Revenue</th>
            <th>Commission</th>
            <th>EPC</th>
          </tr>
        </thead>
        <tbody>
          {report.byPost.map((p) => (
            <tr key={p.itemKey}>
              <td>
                {p.itemKey}
                {p.variant ? ` (${p.variant})` : ''} · /l/{p.linkCode}
              </td>
              <td>{p.platform}</td>
              <td>{p.clicks}</td>
              <td>{p.botClicks}</td>
              <td>{p.conversions}</td>
              <td>{p.revenue}</td>
              <td>{p.commission}</td>
              <td>{p.epc ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {report.abTests.map((a) => (
        <p key={a.group} className="notice">
          A/B {a.group}: {a.reason}
        </p>
      ))}
    </section>
  );
}

export function CampaignsPage() {
  const session = useSession();
  const editor = can(session.workspace.role, 'editor');
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [products, setProducts] = useState<Product[]>([]);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [campaigns, setCampaigns] = useState<Array<{ id: string; name: string; status: string }>>([]);
  const [open, setOpen] = useState<Campaign | null>(null);
  const [draft, setDraft] = useState<Item[]>([]);
  const [report, setReport] = useState<Report | null>(null);
  const [pageUrl, setPageUrl] = useState('');
  const [csv, setCsv] = useState('');
  const [form, setForm] = useState({ name: '', from: day(1), to: day(15), postsPerWeek: 3, abTest: false });
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [chosenAccounts, setChosenAccounts] = useState<Set<string>>(new Set());
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
        setProducts((await api.get<{ products: Product[] }>('/v1/products')).products);
        setCampaigns(
          (await api.get<{ campaigns: Array<{ id: string; name: string; status: string }> }>('/v1/campaigns'))
            .campaigns,
        );
        setAccounts((await api.get<{ items: Account[] }>('/v1/social-accounts')).items);
      }),
    [],
  );
  useEffect(() => void load(), [load]);

  const show = (c: Campaign) => {
    setOpen(c);
    setDraft(c.timeline);
    setReport(null);
  };
  const openCampaign = (id: string) =>
    run(async () => {
      const c = await api.get<Campaign>(`/v1/campaigns/${id}`);
      show(c);
      if (c.status !== 'draft') setReport(await api.get<Report>(`/v1/campaigns/${id}/report`));
    });
  const toggle = (set: Set<string>, id: string) => {
    const next = new Set(set);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  };
  const act = (verb: 'approve' | 'pause' | 'resume' | 'end') =>
    run(async () => {
      if (!open) return;
      const body = verb === 'approve' ? { timelineVersion: open.timelineVersion } : undefined;
      show(await api.post<Campaign>(`/v1/campaigns/${open.id}/${verb}`, body));
      await load();
    });

  return (
    <div className="campaigns">
      <h1>Campaigns</h1>
      <ErrorBox error={error} />
      <section aria-label="Products">
        <h2>Products</h2>
        <ul>
          {products.map((p) => (
            <li key={p.id}>
              <label>
                <input type="checkbox" checked={chosen.has(p.id)} onChange={() => setChosen(toggle(chosen, p.id))} />{' '}
                {p.name} {p.price ? `· ${p.price} ${p.currency ?? ''}` : ''} <small>({p.source})</small>
              </label>
            </li>
          ))}
        </ul>
        {editor && (
          <>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void run(async () => {
                  await api.post('/v1/products/from-page', { url: pageUrl });
                  setPageUrl('');
                  await load();
                });
              }}
            >
              <label>
                Product page <input type="url" value={pageUrl} onChange={(e) => setPageUrl(e.target.value)} required />
              </label>
              <button type="submit">Add from page</button>
            </form>
            <form
              onSubmit={(e) => {
                e.preventDefault();
                void run(async () => {
                  await api.post('/v1/products/import', { csv });
                  setCsv('');
                  await load();
                });
              }}
            >
              <label>
                CSV catalogue (name,url,price,currency,…)
                <textarea value={csv} onChange={(e) => setCsv(e.target.value)} rows={3} required />
              </label>
              <button type="submit">Import</button>
            </form>
          </>
        )}
      </section>

      {editor && (
        <section aria-label="New campaign">
          <h2>New campaign</h2>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void run(async () => {
                const c = await api.post<Campaign>('/v1/campaigns', {
                  name: form.name,
                  productIds: [...chosen],
                  accounts: [...chosenAccounts],
                  from: new Date(`${form.from}T00:00:00`).toISOString(),
                  to: new Date(`${form.to}T00:00:00`).toISOString(),
                  postsPerWeek: form.postsPerWeek,
                  abTest: form.abTest,
                });
                show(c);
                await load();
              });
            }}
          >
            <label>
              Name <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} required />
            </label>
            <fieldset>
              <legend>Accounts</legend>
              {accounts.map((a) => (
                <label key={a.id}>
                  <input
                    type="checkbox"
                    checked={chosenAccounts.has(a.id)}
                    onChange={() => setChosenAccounts(toggle(chosenAccounts, a.id))}
                  />{' '}
                  {a.platform} @{a.handle}
                </label>
              ))}
            </fieldset>
            <label>
              From <input type="date" value={form.from} onChange={(e) => setForm({ ...form, from: e.target.value })} />
            </label>
            <label>
              To <input type="date" value={form.to} onChange={(e) => setForm({ ...form, to: e.target.value })} />
            </label>
            <label>
              Posts per week per account{' '}
              <input
                type="number"
                min={1}
                max={50}
                value={form.postsPerWeek}
                onChange={(e) => setForm({ ...form, postsPerWeek: Number(e.target.value) })}
              />
            </label>
            <label>
              <input
                type="checkbox"
                checked={form.abTest}
                onChange={(e) => setForm({ ...form, abTest: e.target.checked })}
              />{' '}
              A/B variants
            </label>
            <button type="submit" disabled={chosen.size === 0 || chosenAccounts.size === 0}>
              Propose timeline
            </button>
          </form>
        </section>
      )}

      <section aria-label="Campaign list">
        <h2>All campaigns</h2>
        <ul>
          {campaigns.map((c) => (
            <li key={c.id}>
              <button type="button" className="link" onClick={() => void openCampaign(c.id)}>
                {c.name}
              </button>{' '}
              <small>{c.status}</small>
            </li>
          ))}
        </ul>
      </section>

      {open && (
        <section aria-label={`Campaign ${open.name}`}>
          <h2>
            {open.name} <small data-testid="campaign-status">{open.status}</small>
          </h2>
          {open.status === 'draft' ? (
            <>
              <p>
                Proposed timeline (version {open.timelineVersion}): edit any time or text, save, then approve it whole.
              </p>
              <ol>
                {draft.map((i, n) => (
                  <li key={i.key}>
                    <input
                      type="datetime-local"
                      aria-label={`Time of ${i.key}`}
                      value={new Date(new Date(i.at).getTime() - new Date(i.at).getTimezoneOffset() * 60_000)
                        .toISOString()
                        .slice(0, 16)}
                      onChange={(e) =>
                        setDraft(
                          draft.map((d, k) => (k === n ? { ...d, at: new Date(e.target.value).toISOString() } : d)),
                        )
                      }
                      disabled={!editor}
                    />{' '}
                    {i.platform} · {i.kind}
                    {i.variant ? ` · variant ${i.variant}` : ''}
                    <textarea
                      aria-label={`Text of ${i.key}`}
                      value={i.content}
                      rows={3}
                      onChange={(e) => setDraft(draft.map((d, k) => (k === n ? { ...d, content: e.target.value } : d)))}
                      disabled={!editor}
                    />
                  </li>
                ))}
              </ol>
              {editor && (
                <>
                  <button
                    type="button"
                    onClick={() =>
                      void run(async () =>
                        show(
                          await api.put<Campaign>(`/v1/campaigns/${open.id}/timeline`, {
                            timelineVersion: open.timelineVersion,
                            items: draft,
                          }),
                        ),
                      )
                    }
                  >
                    Save timeline
                  </button>{' '}
                  <button type="button" onClick={() => void act('approve')}>
                    Approve and schedule {open.timeline.length} posts
                  </button>
                </>
              )}
            </>
          ) : (
            <>
              <ul>
                {open.posts.map((p) => (
                  <li key={p.itemKey}>
                    {p.itemKey} · {p.platform} · /l/{p.linkCode} · {p.status} ·{' '}
                    {formatTime(open.timeline.find((i) => i.key === p.itemKey)?.at ?? new Date().toISOString(), zone)}
                  </li>
                ))}
              </ul>
              {editor && open.status === 'active' && (
                <button type="button" onClick={() => void act('pause')}>
                  Pause
                </button>
              )}
              {editor && open.status === 'paused' && (
                <button type="button" onClick={() => void act('resume')}>
                  Resume
                </button>
              )}
              {editor && open.status !== 'ended' && (
                <button type="button" onClick={() => void act('end')}>
                  End
                </button>
              )}
              {report && <ReportTable report={report} />}
            </>
          )}
        </section>
      )}
    </div>
  );
}
