/** A publish journal as the publishing worker keeps one (one record per target), in memory, recording every save. */
import type { StepJournal } from '../../connectors/meta/containers.js';

export function memoryJournal(): StepJournal & { saved: Array<Record<string, unknown>> } {
  let handle: Record<string, unknown> | null = null;
  const saved: Array<Record<string, unknown>> = [];
  return {
    saved,
    load: async () => (handle ? structuredClone(handle) : null),
    save: async (h) => {
      handle = structuredClone(h);
      saved.push(structuredClone(h));
    },
  };
}
