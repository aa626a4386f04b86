/**
 * Reading a post's insights (`GET /{media-id}/insights?metric=...`), as Instagram and Threads
 * answer them: `{data: [{name, period, values: [{value}]}]}` or, for totals,
 * `{data: [{name, total_value: {value}}]}`. Metrics Meta does not return are left out.
 */
import { graphRequest, type GraphTransport } from './graph.js';

export async function insightValues(
  t: GraphTransport,
  mediaId: string,
  metrics: string[],
): Promise<Record<string, number | undefined>> {
  const res = await graphRequest<{ data?: Array<Record<string, unknown>> }>(t, {
    method: 'GET',
    path: `/${encodeURIComponent(mediaId)}/insights`,
    params: { metric: metrics.join(',') },
  });
  const out: Record<string, number | undefined> = {};
  for (const row of res.body.data ?? []) {
    if (typeof row.name !== 'string') continue;
    const values = Array.isArray(row.values) ? (row.values as Array<{ value?: unknown }>) : [];
    const total = (row.total_value as { value?: unknown } | undefined)?.value;
    const v = Number(total ?? values[values.length - 1]?.value);
    if (Number.isFinite(v) && v >= 0) out[row.name] = v;
  }
  return out;
}
