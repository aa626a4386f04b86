/**
 * The composer's media: each picked file is uploaded to the workspace's library at once
 * (`POST /v1/media`: the server detects the type, strips metadata and answers 415/413/422 for
 * what it refuses), previewed, and given its alt text. Each chosen account's limits come from
 * the API (`GET /v1/social-accounts/:id/capabilities`, the data the scheduler validates with),
 * so the composer can say before sending what a platform will refuse; the server checks again.
 */
import { useState, type ChangeEvent } from 'react';
import { api } from '../api.ts';
import { ErrorBox } from '../ui.tsx';

export interface Capabilities {
  socialAccountId: string;
  platform: string;
  text: { rule: string; max: number };
  media: { maxCount: number; maxBytes: number; mimeTypes: string[]; altTextMax: number | null };
  threads: { supported: boolean; maxParts: number };
}

export interface PickedMedia {
  id: string;
  name: string;
  kind: string;
  mimeType: string;
  sizeBytes: number;
  /** A `data:` URL of the picked file (the CSP allows `data:` images, not `blob:`). */
  preview: string | null;
  altText: string;
}

interface MediaRecord {
  id: string;
  kind: string;
  mimeType: string;
  sizeBytes: number;
}

/** The accounts the post goes to, with their platform's capabilities (when loaded). */
export interface ChosenAccount {
  id: string;
  platform: string;
  handle: string;
  capabilities: Capabilities | undefined;
}

const PREVIEW_MAX_BYTES = 8 * 1024 * 1024;

export const graphemes = (text: string): number => {
  let n = 0;
  for (const _ of new Intl.Segmenter().segment(text)) n++;
  return n;
};

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;

function readAsDataUrl(file: File): Promise<string | null> {
  if (!file.type.startsWith('image/') || file.size > PREVIEW_MAX_BYTES) return Promise.resolve(null);
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : null);
    reader.onerror = () => resolve(null);
    reader.readAsDataURL(file);
  });
}

/**
 * Problems the chosen accounts' limits show with this media, one sentence each. `publishing`:
 * the post is meant to go out (not a draft), so an image without alt text where the platform
 * takes alt text is one of them: the console asks for a description of every image it can carry.
 */
export function mediaProblems(media: PickedMedia[], accounts: ChosenAccount[], publishing: boolean): string[] {
  const out: string[] = [];
  for (const a of accounts) {
    const c = a.capabilities?.media;
    if (!c || media.length === 0) continue;
    const who = `${a.platform} · ${a.handle}`;
    if (media.length > c.maxCount) out.push(`${who} takes at most ${c.maxCount} media; ${media.length} are attached.`);
    for (const m of media) {
      if (!c.mimeTypes.includes(m.mimeType)) out.push(`${who} does not take ${m.mimeType} (${m.name}).`);
      else if (m.sizeBytes > c.maxBytes)
        out.push(`${who} takes files up to ${mb(c.maxBytes)}; ${m.name} is ${mb(m.sizeBytes)}.`);
      const alt = m.altText.trim();
      if (c.altTextMax !== null && alt && graphemes(alt) > c.altTextMax)
        out.push(`${who} takes alt text up to ${c.altTextMax} characters; ${m.name} has ${graphemes(alt)}.`);
      if (publishing && c.altTextMax !== null && m.kind === 'image' && !alt)
        out.push(`Describe ${m.name} (alt text) for ${who}.`);
    }
  }
  return [...new Set(out)];
}

export function MediaPicker(props: {
  media: PickedMedia[];
  onChange(media: PickedMedia[]): void;
  accounts: ChosenAccount[];
}) {
  const [error, setError] = useState<unknown>(null);
  const [uploading, setUploading] = useState(0);

  const pick = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.target;
    const files = [...(input.files ?? [])];
    setError(null);
    let added = props.media;
    setUploading(files.length);
    for (const file of files) {
      const form = new FormData();
      form.append('file', file, file.name);
      try {
        const [record, preview] = await Promise.all([api.upload<MediaRecord>('/v1/media', form), readAsDataUrl(file)]);
        // Uploading bytes the library already holds answers the same record: attach it once.
        if (!added.some((m) => m.id === record.id))
          added = [
            ...added,
            {
              id: record.id,
              name: file.name,
              kind: record.kind,
              mimeType: record.mimeType,
              sizeBytes: record.sizeBytes,
              preview,
              altText: '',
            },
          ];
        props.onChange(added);
      } catch (err) {
        setError(err);
      }
      setUploading((n) => n - 1);
    }
    input.value = '';
  };

  const altLimits = props.accounts
    .filter((a) => a.capabilities)
    .map((a) => ({ a, max: a.capabilities!.media.altTextMax }));
  return (
    <fieldset>
      <legend>Media</legend>
      <label>
        Add images or videos
        <input
          type="file"
          multiple
          accept="image/jpeg,image/png,image/webp,image/gif,video/mp4,video/quicktime,video/webm"
          onChange={(e) => void pick(e)}
        />
      </label>
      <p aria-live="polite" className="muted">
        {uploading > 0 ? 'Uploading…' : ''}
      </p>
      <ErrorBox error={error} />
      {props.accounts.length > 0 && (
        <ul className="muted" data-testid="media-limits">
          {props.accounts.map((a) => {
            const c = a.capabilities;
            return (
              <li key={a.id}>
                {a.platform} · {a.handle}:{' '}
                {c
                  ? `${c.text.max} characters (${c.text.rule}); up to ${c.media.maxCount} media of ${mb(c.media.maxBytes)}; ` +
                    (c.media.altTextMax === null ? 'no alt text' : `alt text up to ${c.media.altTextMax} characters`)
                  : '…'}
              </li>
            );
          })}
        </ul>
      )}
      <div className="media-list">
        {props.media.map((m, i) => {
          const max = altLimits.reduce<number | null>(
            (low, { max }) => (max === null ? low : Math.min(low ?? max, max)),
            null,
          );
          return (
            <figure key={m.id} className="media-item" data-testid="media-item">
              {m.preview ? (
                <img src={m.preview} alt={m.altText || `Preview of ${m.name}`} />
              ) : (
                <div className="media-placeholder">{m.kind}</div>
              )}
              <figcaption>
                <div className="field">
                  <label htmlFor={`alt-${m.id}`}>
                    Alt text for {m.name}{' '}
                    <small>
                      ({graphemes(m.altText)}
                      {max !== null ? ` of ${max}` : ''})
                    </small>
                  </label>
                  <textarea
                    id={`alt-${m.id}`}
                    rows={2}
                    value={m.altText}
                    onChange={(e) =>
                      props.onChange(props.media.map((x, j) => (j === i ? { ...x, altText: e.target.value } : x)))
                    }
                  />
                </div>
                <button
                  type="button"
                  className="link"
                  onClick={() => props.onChange(props.media.filter((_, j) => j !== i))}
                >
                  Remove {m.name}
                </button>
              </figcaption>
            </figure>
          );
        })}
      </div>
    </fieldset>
  );
}
