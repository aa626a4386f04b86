/**
 * Models and usage, on the Settings page: the workspace's routing policy and daily cost cap
 * (`PATCH /v1/workspace` `models`, docs/models.md), the models Herald knows with whether each
 * can serve now (`GET /v1/models`), and the last 30 days' model calls, tokens and cost per
 * provider (`GET /v1/usage`). Admins change the policy; every member reads.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { can, useSession } from '../session.tsx';
import { ErrorBox } from '../ui.tsx';

const POLICIES = [
  ['local_first', 'Local first: local models that are good enough, then the cheapest cloud model'],
  ['local_only', 'Local only: never send anything to a cloud model'],
  ['quality_first', 'Quality first: the strongest model, whatever it costs'],
] as const;

interface ModelRow {
  id: string;
  provider: string;
  local: boolean;
  tier: number;
  configured: boolean;
  available: boolean;
}
interface Usage {
  providers: Array<{ provider: string; calls: number; inputTokens: number; outputTokens: number; costUsd: string }>;
  totals: { calls: number; inputTokens: number; outputTokens: number; costUsd: string };
}

export function ModelSettings() {
  const session = useSession();
  const admin = can(session.workspace.role, 'admin');
  const current = (session.workspace.settings.models ?? {}) as { policy?: string; dailyCostCapUsd?: number | null };
  const [policy, setPolicy] = useState(current.policy ?? 'local_first');
  const [cap, setCap] = useState(current.dailyCostCapUsd == null ? '' : String(current.dailyCostCapUsd));
  const [models, setModels] = useState<ModelRow[]>([]);
  const [usage, setUsage] = useState<Usage | null>(null);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      const to = new Date();
      const from = new Date(to.getTime() - 30 * 86_400_000);
      const [m, u] = await Promise.all([
        api.get<{ items: ModelRow[] }>('/v1/models'),
        api.get<Usage>(
          `/v1/usage?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`,
        ),
      ]);
      setModels(m.items);
      setUsage(u);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => void load(), [load, session.workspace.id]);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await api.patch('/v1/workspace', { models: { policy, dailyCostCapUsd: cap === '' ? null : Number(cap) } });
      await session.reload();
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };

  const usable = models.filter((m) => m.configured);
  return (
    <section className="card" aria-labelledby="models-h">
      <h2 id="models-h">Models and usage</h2>
      <form onSubmit={(e) => void save(e)} aria-label="Model policy">
        <fieldset disabled={!admin}>
          <label>
            Routing policy
            <select value={policy} onChange={(e) => setPolicy(e.target.value)}>
              {POLICIES.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Daily cost cap for cloud models (USD, empty for none)
            <input type="number" min={0} step="0.01" value={cap} onChange={(e) => setCap(e.target.value)} />
          </label>
        </fieldset>
        <ErrorBox error={error} />
        {saved && (
          <p className="notice" role="status">
            Model policy saved.
          </p>
        )}
        {admin && <button type="submit">Save model policy</button>}
      </form>
      <h3>Models that can serve</h3>
      {usable.length === 0 ? (
        <p>No model provider is configured: set OLLAMA_URL or a cloud key (see docs/models.md).</p>
      ) : (
        <ul data-testid="models">
          {usable.map((m) => (
            <li key={m.id}>
              {m.id} · {m.local ? 'local' : 'cloud'} · tier {m.tier}
              {!m.available && ' · paused after failures'}
            </li>
          ))}
        </ul>
      )}
      <h3>Last 30 days</h3>
      {usage && (
        <table data-testid="usage">
          <thead>
            <tr>
              <th>Provider</th>
              <th>Calls</th>
              <th>Tokens in</th>
              <th>Tokens out</th>
              <th>Cost (USD)</th>
            </tr>
          </thead>
          <tbody>
            {usage.providers.map((p) => (
              <tr key={p.provider}>
                <td>{p.provider}</td>
                <td>{p.calls}</td>
                <td>{p.inputTokens}</td>
                <td>{p.outputTokens}</td>
                <td>{Number(p.costUsd).toFixed(4)}</td>
              </tr>
            ))}
            <tr>
              <th scope="row">All</th>
              <td>{usage.totals.calls}</td>
              <td>{usage.totals.inputTokens}</td>
              <td>{usage.totals.outputTokens}</td>
              <td>{Number(usage.totals.costUsd).toFixed(4)}</td>
            </tr>
          </tbody>
        </table>
      )}
    </section>
  );
}
