/**
 * Connected apps (`/v1/oauth/grants`): the MCP clients people let act for them by signing in
 * over OAuth (docs/mcp.md#oauth-sign-in-instead-of-a-pasted-key), with their scopes and when
 * they were last used. Revoking one ends its tokens at once. Everyone sees their own; an
 * admin sees every member's.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { ErrorBox } from '../ui.tsx';

interface Grant {
  id: string;
  clientName: string | null;
  clientId: string;
  userId: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export function ConnectedApps() {
  const [grants, setGrants] = useState<Grant[]>([]);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      setGrants((await api.get<{ items: Grant[] }>('/v1/oauth/grants')).items);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => void load(), [load]);

  const revoke = async (id: string) => {
    setError(null);
    try {
      await api.delete(`/v1/oauth/grants/${id}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };

  const live = grants.filter((g) => !g.revokedAt);
  return (
    <section className="card" aria-labelledby="apps-h">
      <h2 id="apps-h">Connected apps</h2>
      <p className="muted">
        MCP clients (Claude, Cursor, your own agents) that signed in to Herald with OAuth. Each acts as the person who
        allowed it, with the scopes they chose.
      </p>
      <ErrorBox error={error} />
      {live.length === 0 ? (
        <p>No connected apps.</p>
      ) : (
        <ul>
          {live.map((g) => (
            <li key={g.id}>
              {g.clientName ?? g.clientId} ({g.scopes.join(', ')}), allowed {new Date(g.createdAt).toLocaleString()}
              {g.lastUsedAt && `, last used ${new Date(g.lastUsedAt).toLocaleString()}`}{' '}
              <button type="button" className="link" onClick={() => void revoke(g.id)}>
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
