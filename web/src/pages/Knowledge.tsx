/**
 * Knowledge: what Herald knows about the workspace (brand guide, products, notes, web pages,
 * followed feeds, uploaded files, past posts), each source with its ingestion status; adding
 * text, a web page, a feed to follow or a file; and searching it as the agent does. Editors
 * and above see the add and delete controls; the server checks again.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { can, useSession } from '../session.tsx';
import { ErrorBox, formatTime } from '../ui.tsx';

const DOC_TYPES = ['brand_guide', 'product', 'best_practice', 'note', 'web_page'] as const;
const LABEL: Record<string, string> = {
  brand_guide: 'Brand guide',
  product: 'Product',
  best_practice: 'Best practice',
  note: 'Note',
  web_page: 'Web page',
  past_post: 'Past post',
  feed_item: 'Feed item',
};

interface Source {
  id: string;
  docType: string;
  format: string;
  title: string;
  url: string | null;
  status: string;
  error: { code: string; message: string } | null;
  chunkCount: number;
  feed: { intervalMinutes: number } | null;
  updatedAt: string;
}
interface Hit {
  chunkId: string;
  text: string;
  heading: string | null;
  source: { id: string; title: string; docType: string; url: string | null };
}

type Kind = 'text' | 'url' | 'feed' | 'file';

export function KnowledgePage() {
  const session = useSession();
  const editor = can(session.workspace.role, 'editor');
  const [sources, setSources] = useState<Source[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<Hit[] | null>(null);

  const load = useCallback(async () => {
    try {
      setSources((await api.get<{ items: Source[] }>('/v1/knowledge/sources?limit=100')).items);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => void load(), [load, session.workspace.id]);
  // Ingestion runs in the background: refresh while anything is still on its way.
  useEffect(() => {
    if (!sources.some((s) => s.status === 'pending' || s.status === 'ingesting' || s.status === 'retrying')) return;
    const t = setTimeout(() => void load(), 1_000);
    return () => clearTimeout(t);
  }, [sources, load]);

  const search = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      setHits((await api.get<{ items: Hit[] }>(`/v1/knowledge/search?q=${encodeURIComponent(query)}`)).items);
    } catch (err) {
      setError(err);
    }
  };

  const remove = async (s: Source) => {
    if (!confirm(`Delete "${s.title}" from the knowledge base?`)) return;
    try {
      await api.delete(`/v1/knowledge/sources/${s.id}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <h1>Knowledge</h1>
      <ErrorBox error={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <section className="card" aria-labelledby="search-h">
        <h2 id="search-h">Search</h2>
        <form className="row" onSubmit={(e) => void search(e)}>
          <label>
            Search knowledge
            <input required value={query} onChange={(e) => setQuery(e.target.value)} />
          </label>
          <button type="submit">Search</button>
        </form>
        {hits &&
          (hits.length === 0 ? (
            <p>Nothing found.</p>
          ) : (
            <ol data-testid="knowledge-hits">
              {hits.map((h) => (
                <li key={h.chunkId}>
                  <strong>{h.source.title}</strong> <em>({LABEL[h.source.docType] ?? h.source.docType})</em>
                  {h.heading && ` — ${h.heading}`}
                  <p>{h.text}</p>
                </li>
              ))}
            </ol>
          ))}
      </section>
      {editor && (
        <AddSource
          onError={setError}
          onAdded={(title) => {
            setNotice(`Added "${title}"; it is being read in.`);
            void load();
          }}
        />
      )}
      <section className="card" aria-labelledby="sources-h">
        <h2 id="sources-h">Sources</h2>
        {sources.length === 0 ? (
          <p>Nothing yet: add your brand guide, products or notes so drafts sound like you.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Title</th>
                <th>Kind</th>
                <th>Status</th>
                <th>Updated</th>
                {editor && <th />}
              </tr>
            </thead>
            <tbody>
              {sources.map((s) => (
                <tr key={s.id} data-testid="knowledge-source">
                  <td>
                    {s.url ? <a href={s.url}>{s.title}</a> : s.title}
                    {s.feed && <small> (followed every {s.feed.intervalMinutes} min)</small>}
                  </td>
                  <td>{LABEL[s.docType] ?? s.docType}</td>
                  <td data-testid="knowledge-status">
                    {s.status}
                    {s.status === 'ready' && ` · ${s.chunkCount} passages`}
                    {s.error && ` · ${s.error.message} (${s.error.code})`}
                  </td>
                  <td>{formatTime(s.updatedAt, session.timeZone)}</td>
                  {editor && (
                    <td>
                      <button type="button" className="danger" onClick={() => void remove(s)}>
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function AddSource(props: { onError(e: unknown): void; onAdded(title: string): void }) {
  const [kind, setKind] = useState<Kind>('text');
  const [docType, setDocType] = useState<string>('note');
  const [title, setTitle] = useState('');
  const [text, setText] = useState('');
  const [url, setUrl] = useState('');
  const [file, setFile] = useState<File | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      if (kind === 'file') {
        if (!file) return;
        const form = new FormData();
        form.append('docType', docType);
        if (title) form.append('title', title);
        form.append('file', file);
        await api.upload('/v1/knowledge/sources/upload', form);
      } else {
        const body =
          kind === 'text'
            ? { docType, title, format: 'markdown', text }
            : kind === 'url'
              ? { docType, title, format: 'url', url }
              : { docType: 'web_page', title, format: 'feed', url, follow: {} };
        await api.post('/v1/knowledge/sources', body);
      }
      props.onAdded(title || file?.name || url);
      setTitle('');
      setText('');
      setUrl('');
      setFile(null);
    } catch (err) {
      props.onError(err);
    }
  };

  return (
    <section className="card" aria-labelledby="add-h">
      <h2 id="add-h">Add to knowledge</h2>
      <form onSubmit={(e) => void submit(e)} aria-label="Add to knowledge">
        <div className="row">
          <label>
            What
            <select value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
              <option value="text">Text</option>
              <option value="url">Web page</option>
              <option value="feed">Feed to follow</option>
              <option value="file">File (PDF, CSV, text)</option>
            </select>
          </label>
          {kind !== 'feed' && (
            <label>
              Kind
              <select value={docType} onChange={(e) => setDocType(e.target.value)}>
                {DOC_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {LABEL[t]}
                  </option>
                ))}
              </select>
            </label>
          )}
          <label>
            Title
            <input required={kind !== 'file'} value={title} onChange={(e) => setTitle(e.target.value)} />
          </label>
        </div>
        {kind === 'text' && (
          <label>
            Content (Markdown)
            <textarea required rows={6} value={text} onChange={(e) => setText(e.target.value)} />
          </label>
        )}
        {(kind === 'url' || kind === 'feed') && (
          <label>
            {kind === 'feed' ? 'Feed URL (RSS or Atom)' : 'Page URL'}
            <input required type="url" value={url} onChange={(e) => setUrl(e.target.value)} />
          </label>
        )}
        {kind === 'file' && (
          <label>
            File
            <input required type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </label>
        )}
        <button type="submit">Add</button>
      </form>
    </section>
  );
}
