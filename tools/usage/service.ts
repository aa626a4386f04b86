/** Model usage (tokens and cost) per day, provider and model, and per provider, for the caller's workspace. */
import { HeraldError, summarizeUsage, type Db } from '../../core/index.js';
import { parseUserTime } from '../scheduling/time.js';

export async function usageSummary(
  db: Db,
  ctx: { workspaceId: string; timeZone: string },
  range: { from: string; to: string },
) {
  const from = parseUserTime(range.from, ctx.timeZone);
  const to = parseUserTime(range.to, ctx.timeZone);
  if (to <= from) throw new HeraldError('invalid_time', { message: 'The end of the range must be after its start' });
  const rows = await summarizeUsage(db, ctx.workspaceId, { from, to });
  const totals = rows.reduce(
    (acc, r) => ({
      calls: acc.calls + r.calls,
      inputTokens: acc.inputTokens + r.inputTokens,
      outputTokens: acc.outputTokens + r.outputTokens,
      costMicroUsd: acc.costMicroUsd + Math.round(Number(r.costUsd) * 1e6),
    }),
    { calls: 0, inputTokens: 0, outputTokens: 0, costMicroUsd: 0 },
  );
  const byProvider = new Map<
    string,
    { provider: string; calls: number; inputTokens: number; outputTokens: number; micro: number }
  >();
  for (const r of rows) {
    const p = byProvider.get(r.provider) ?? {
      provider: r.provider,
      calls: 0,
      inputTokens: 0,
      outputTokens: 0,
      micro: 0,
    };
    p.calls += r.calls;
    p.inputTokens += r.inputTokens;
    p.outputTokens += r.outputTokens;
    p.micro += Math.round(Number(r.costUsd) * 1e6);
    byProvider.set(r.provider, p);
  }
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    days: rows,
    providers: [...byProvider.values()].map(({ micro, ...p }) => ({ ...p, costUsd: (micro / 1e6).toFixed(6) })),
    totals: {
      calls: totals.calls,
      inputTokens: totals.inputTokens,
      outputTokens: totals.outputTokens,
      costUsd: (totals.costMicroUsd / 1e6).toFixed(6),
    },
  };
}
