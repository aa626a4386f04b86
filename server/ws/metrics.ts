/**
 * Process-wide WebSocket figures for metrics and tests: open connections, running turns, and
 * the closes the server itself initiated, by close code. Plain counters; whoever exposes
 * metrics (Prometheus, `/ready`) reads them through `server/ws/index.ts`.
 */

const state = {
  open: 0,
  turnsRunning: 0,
  serverCloses: new Map<number, number>(),
};

export const wsCounters = {
  opened(): void {
    state.open++;
  },
  closed(): void {
    state.open--;
  },
  turnStarted(): void {
    state.turnsRunning++;
  },
  turnEnded(): void {
    state.turnsRunning--;
  },
  serverClosed(code: number): void {
    state.serverCloses.set(code, (state.serverCloses.get(code) ?? 0) + 1);
  },
};

/** WebSocket connections open in this process right now. */
export function openConnectionCount(): number {
  return state.open;
}

export interface WsStats {
  openConnections: number;
  turnsRunning: number;
  /** Closes initiated by this process since it started, by close code (e.g. 4008 slow consumer). */
  serverCloses: Record<number, number>;
}

export function wsStats(): WsStats {
  return {
    openConnections: state.open,
    turnsRunning: state.turnsRunning,
    serverCloses: Object.fromEntries(state.serverCloses),
  };
}
