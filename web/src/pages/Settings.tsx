/**
 * Workspace settings (`PATCH /v1/workspace`): name, time zone and whether editors' posts wait
 * for an admin's approval; models and usage (ModelSettings.tsx); and API keys (`/v1/api-keys`:
 * the secret is shown once). Admins edit; others read.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { can, useSession } from '../session.tsx';
import { ErrorBox } from '../ui.tsx';
import { ModelSettings } from './ModelSettings.tsx';
import { ConnectedApps } from './ConnectedApps.tsx';

interface ApiKey {
  id: string;
  name: string;
  scopes: string[];
  lastUsedAt: string | null;
}

export function SettingsPage() {
  const session = useSession();
  const admin = can(session.workspace.role, 'admin');
  const ws = session.workspace;
  const [name, setName] = useState(ws.name);
  const [timeZone, setTimeZone] = useState(ws.timeZone);
  const [requireApproval, setRequireApproval] = useState(ws.settings.requireApproval === true);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await api.patch('/v1/workspace', { name, timeZone, requireApproval });
      await session.reload();
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <h1>Settings</h1>
      <section className="card" aria-labelledby="ws-h">
        <h2 id="ws-h">Workspace</h2>
        <form onSubmit={(e) => void save(e)}>
          <fieldset disabled={!admin}>
            <label>
              Name
              <input required value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label>
              Time zone (IANA)
              <input required value={timeZone} onChange={(e) => setTimeZone(e.target.value)} />
            </label>
            <label style={{ flexDirection: 'row', alignItems: 'center' }}>
              <input type="checkbox" checked={requireApproval} onChange={(e) => setRequireApproval(e.target.checked)} />
              Editors&apos; posts wait for an admin&apos;s approval
            </label>
          </fieldset>
          <ErrorBox error={error} />
          {saved && (
            <p className="notice" role="status">
              Saved.
            </p>
          )}
          {admin && <button type="submit">Save settings</button>}
        </form>
      </section>
      <ModelSettings />
      {admin && <ApiKeys />}
      <ConnectedApps />
    </>
  );
}

function ApiKeys() {
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [name, setName] = useState('');
  const [scope, setScope] = useState('read');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      setKeys((await api.get<{ items: ApiKey[] }>('/v1/api-keys')).items);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const res = await api.post<{ secret: string }>('/v1/api-keys', {
        name,
        scopes: [scope],
      });
      setSecret(res.secret);
      setName('');
      await load();
    } catch (err) {
      setError(err);
    }
  };

  const revoke = async (id: string) => {
    try {
      await api.delete(`/v1/api-keys/${id}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className="card" aria-labelledby="keys-h">
      <h2 id="keys-h">API keys</h2>
      <ErrorBox error={error} />
      <form className="row" onSubmit={(e) => void create(e)}>
        <label>
          Key name
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Scope
          <select value={scope} onChange={(e) => setScope(e.target.value)}>
            <option value="read">read (viewer)</option>
            <option value="write">write (editor)</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <div className="actions">
          <button type="submit">Create key</button>
        </div>
      </form>
      {secret && (
        <p className="notice">
          The key (shown once): <code data-testid="api-key">{secret}</code>
        </p>
      )}
      <ul>
        {keys.map((k) => (
          <li key={k.id}>
            {k.name} ({k.scopes.join(', ')}){k.lastUsedAt && `, last used ${new Date(k.lastUsedAt).toLocaleString()}`}{' '}
            <button type="button" className="link" onClick={() => void revoke(k.id)}>
              Revoke
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
