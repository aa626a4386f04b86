/**
 * The composer: one text, a variant per chosen account with its length against the
 * platform's limit (from the API), media with alt text (MediaPicker), a time read in the
 * user's zone; Schedule, Save draft or Publish now. The API's validation errors are listed as
 * it gives them, per target.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { ErrorBox } from '../ui.tsx';
import type { Account } from './Accounts.tsx';
import { graphemes, MediaPicker, mediaProblems, type Capabilities, type PickedMedia } from './MediaPicker.tsx';

/** A length as the platform's rule counts it, where the browser can count it the same way. */
function lengthOf(text: string, rule: string | undefined): number {
  if (rule === 'bytes') return new TextEncoder().encode(text).length;
  if (rule === 'chars') return [...text].length;
  return graphemes(text); // graphemes; `weighted` (X, Mastodon's URLs) is an estimate: the server decides
}

export function Composer(props: { onCreated(): void }) {
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [caps, setCaps] = useState<Record<string, Capabilities>>({});
  const [content, setContent] = useState('');
  const [chosen, setChosen] = useState<Record<string, string | null>>({});
  const [media, setMedia] = useState<PickedMedia[]>([]);
  const [at, setAt] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [done, setDone] = useState<string | null>(null);

  useEffect(() => {
    api.get<{ items: Account[] }>('/v1/social-accounts').then((r) => setAccounts(r.items), setError);
  }, []);
  // Each chosen account's limits, asked once.
  const asked = useRef(new Set<string>());
  useEffect(() => {
    for (const id of Object.keys(chosen)) {
      if (asked.current.has(id)) continue;
      asked.current.add(id);
      api.get<Capabilities>(`/v1/social-accounts/${id}/capabilities`).then(
        (c) => setCaps((all) => ({ ...all, [id]: c })),
        (err: unknown) => {
          asked.current.delete(id);
          setError(err);
        },
      );
    }
  }, [chosen]);

  const chosenAccounts = accounts
    .filter((a) => a.id in chosen)
    .map((a) => ({ id: a.id, platform: a.platform, handle: a.handle, capabilities: caps[a.id] }));

  const submit = async (e: FormEvent, mode: 'schedule' | 'draft' | 'now') => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const found = mediaProblems(media, chosenAccounts, mode !== 'draft');
    setProblems(found);
    if (found.length > 0) return;
    const attached = media.map((m) => ({ mediaId: m.id, ...(m.altText.trim() ? { altText: m.altText.trim() } : {}) }));
    const targets = Object.entries(chosen).map(([socialAccountId, variant]) => ({
      socialAccountId,
      ...(variant !== null ? { content: variant } : {}),
      ...(attached.length ? { media: attached } : {}),
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
      setMedia([]);
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
            const text = caps[a.id]?.text;
            const length = lengthOf(variant ?? content, text?.rule);
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
                      <small className={text && length > text.max ? 'over' : undefined}>
                        ({length}
                        {text ? ` of ${text.max}` : ''} characters; empty uses the text above)
                      </small>
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
        <MediaPicker media={media} onChange={setMedia} accounts={chosenAccounts} />
        <label>
          When (your time zone)
          <input type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} />
        </label>
        <ErrorBox error={error} />
        {problems.length > 0 && (
          <div role="alert" className="error" data-testid="media-problems">
            <p>Not sent:</p>
            <ul>
              {problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          </div>
        )}
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
