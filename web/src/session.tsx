/**
 * Who is signed in, in which workspace, with which role. The role comes from
 * `GET /v1/workspace`; pages hide what the role cannot do (the server refuses it anyway).
 */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, type Tokens } from './api.ts';

export type Role = 'owner' | 'admin' | 'editor' | 'viewer';

export interface Workspace {
  id: string;
  name: string;
  timeZone: string;
  role: Role;
  settings: Record<string, unknown>;
}

export interface Session {
  tokens: Tokens;
  workspace: Workspace;
  workspaces: Workspace[];
  /** The browser's zone: times are read and shown in it (the API reads wall-clock times in the user's). */
  timeZone: string;
  switchWorkspace(id: string): Promise<void>;
  reload(): Promise<void>;
  logout(): Promise<void>;
}

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2, owner: 3 };

/** Whether `role` is at least `min` (docs/api.md, Roles). */
export const can = (role: Role, min: Role): boolean => RANK[role] >= RANK[min];

const Ctx = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

export function SessionProvider(props: { signedOut: ReactNode; loading: ReactNode; children: ReactNode }) {
  const [tokens, setTokens] = useState<Tokens | null>(api.tokens);
  const [state, setState] = useState<{ workspace: Workspace; workspaces: Workspace[] } | null>(null);
  const [restoring, setRestoring] = useState(api.hasStoredSession() && !api.tokens);

  useEffect(() => api.onChange(setTokens), []);
  useEffect(() => {
    if (!restoring) return;
    api.refresh().then(
      () => setRestoring(false),
      () => setRestoring(false),
    );
  }, [restoring]);

  const reload = useCallback(async () => {
    const [workspace, list] = await Promise.all([
      api.get<Workspace>('/v1/workspace'),
      api.get<{ items: Workspace[] }>('/v1/workspaces'),
    ]);
    setState({ workspace, workspaces: list.items });
  }, []);

  useEffect(() => {
    if (tokens) void reload();
    else setState(null);
  }, [tokens, reload]);

  if (restoring) return <>{props.loading}</>;
  if (!tokens) return <>{props.signedOut}</>;
  if (!state || state.workspace.id !== tokens.workspaceId) return <>{props.loading}</>;

  const session: Session = {
    tokens,
    ...state,
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    switchWorkspace: async (id) => {
      await api.refresh(id);
    },
    reload,
    logout: () => api.logout(),
  };
  return <Ctx.Provider value={session}>{props.children}</Ctx.Provider>;
}
