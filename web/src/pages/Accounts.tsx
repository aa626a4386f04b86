/**
 * Social accounts: the connected ones with their status, connecting a new one (Bluesky with a
 * handle and an app password; OAuth platforms through their authorize page, which sends the
 * browser back here through `CONNECT_DONE_URL` with the outcome in the query), and
 * disconnecting. Platforms Herald has no credentials for say which variables to set. Only
 * admins see the connect and disconnect controls.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { can, useSession } from '../session.tsx';
import { ErrorBox } from '../ui.tsx';
import { SlotsEditor } from './Slots.tsx';

export interface Account {
  id: string;
  platform: string;
  handle: string;
  displayName?: string | null;
  status: string;
}
interface PlatformSetup {
  platform: string;
  configured: boolean;
  set: string[];
  needsInstanceUrl: boolean;
  connectWith: Array<'oauth' | 'app_password'>;
}

export function AccountsPage() {
  const session = useSession();
  const admin = can(session.workspace.role, 'admin');
  const editor = can(session.workspace.role, 'editor');
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [platforms, setPlatforms] = useState<PlatformSetup[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setAccounts((await api.get<{ items: Account[] }>('/v1/social-accounts')).items);
      setPlatforms((await api.get<{ items: PlatformSetup[] }>('/v1/social-accounts/platforms')).items);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => void load(), [load]);

  // Back from a platform's authorize page (CONNECT_DONE_URL): say how it went, once.
  useEffect(() => {
    const q = new URLSearchParams(location.search);
    const status = q.get('status');
    if (!status) return;
    if (status === 'connected') setNotice(`Connected a ${q.get('platform') ?? ''} account.`);
    else setError(new Error(`${q.get('message') ?? 'Connecting failed'} (${q.get('code') ?? 'error'})`));
    history.replaceState(null, '', location.pathname);
  }, []);

  const disconnect = async (a: Account) => {
    if (!confirm(`Disconnect ${a.handle} (${a.platform})? Its unpublished posts are cancelled.`)) return;
    try {
      await api.delete(`/v1/social-accounts/${a.id}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <h1>Accounts</h1>
      <ErrorBox error={error} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <section className="card" aria-labelledby="accounts-h">
        <h2 id="accounts-h">Connected accounts</h2>
        {accounts.length === 0 ? (
          <p>No account connected yet.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Platform</th>
                <th>Account</th>
                <th>Status</th>
                {admin && <th />}
              </tr>
            </thead>
            <tbody>
              {accounts.map((a) => (
                <tr key={a.id}>
                  <td>{a.platform}</td>
                  <td data-testid="account-handle">{a.handle}</td>
                  <td>{a.status}</td>
                  {admin && (
                    <td>
                      <button type="button" className="danger" onClick={() => void disconnect(a)}>
                        Disconnect
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {accounts.length > 0 && (
        <section className="card" aria-labelledby="slots-h">
          <h2 id="slots-h">Posting slots</h2>
          <p className="muted">The weekly times &ldquo;add to queue&rdquo; fills, per account.</p>
          {accounts.map((a) => (
            <div key={a.id}>
              <h3>
                {a.handle} ({a.platform})
              </h3>
              <SlotsEditor account={a} canEdit={editor} />
            </div>
          ))}
        </section>
      )}
      {admin && (
        <section className="card" aria-labelledby="connect-h">
          <h2 id="connect-h">Connect an account</h2>
          {platforms.map((p) => (
            <ConnectPlatform
              key={p.platform}
              setup={p}
              onError={setError}
              onConnected={() => {
                setNotice(`Connected a ${p.platform} account.`);
                void load();
              }}
            />
          ))}
        </section>
      )}
    </>
  );
}

function ConnectPlatform(props: { setup: PlatformSetup; onError(e: unknown): void; onConnected(): void }) {
  const { setup } = props;
  const [identifier, setIdentifier] = useState('');
  const [appPassword, setAppPassword] = useState('');
  const [instanceUrl, setInstanceUrl] = useState('');
  const bothWays = setup.connectWith.includes('app_password') && setup.connectWith.includes('oauth');

  if (!setup.configured) {
    return (
      <p>
        <strong>{setup.platform}</strong>: not configured on this server (set {setup.set.join(', ')}).
      </p>
    );
  }

  const withPassword = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api.post('/v1/social-accounts/app-password', { platform: setup.platform, identifier, appPassword });
      setAppPassword('');
      props.onConnected();
    } catch (err) {
      props.onError(err);
    }
  };

  const withOAuth = async (e: FormEvent) => {
    e.preventDefault();
    try {
      // Bluesky (OAuth beside app passwords): the handle typed above, if any, names the account.
      const body = setup.needsInstanceUrl
        ? { platform: setup.platform, instanceUrl }
        : bothWays && identifier
          ? { platform: setup.platform, handle: identifier }
          : { platform: setup.platform };
      const started = await api.post<{ authorizeUrl: string }>('/v1/social-accounts/connect', body);
      location.assign(started.authorizeUrl);
    } catch (err) {
      props.onError(err);
    }
  };

  return (
    <div className="connect">
      {setup.connectWith.includes('app_password') && (
        <form className="row" onSubmit={(e) => void withPassword(e)} aria-label={`Connect ${setup.platform}`}>
          <label>
            {setup.platform} handle
            <input required value={identifier} onChange={(e) => setIdentifier(e.target.value)} />
          </label>
          <label>
            App password
            <input
              type="password"
              required
              autoComplete="off"
              value={appPassword}
              onChange={(e) => setAppPassword(e.target.value)}
            />
          </label>
          <div className="actions">
            <button type="submit">Connect {setup.platform}</button>
          </div>
        </form>
      )}
      {setup.connectWith.includes('oauth') && (
        <form
          className="row"
          onSubmit={(e) => void withOAuth(e)}
          aria-label={bothWays ? `Connect ${setup.platform} on its own site` : `Connect ${setup.platform}`}
        >
          {setup.needsInstanceUrl && (
            <label>
              {setup.platform} server
              <input
                type="url"
                required
                placeholder="https://mastodon.social"
                value={instanceUrl}
                onChange={(e) => setInstanceUrl(e.target.value)}
              />
            </label>
          )}
          <div className="actions">
            <button type="submit">
              {bothWays ? `Connect ${setup.platform} on its own site (OAuth)` : `Connect ${setup.platform}`}
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
