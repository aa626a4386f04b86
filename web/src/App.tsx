/** The shell: navigation, the workspace switcher with the caller's role, and the current page. */
import { useState } from 'react';
import { navigate, usePath } from './router.ts';
import { useSession } from './session.tsx';
import { ErrorBox } from './ui.tsx';
import { Notifications } from './Notifications.tsx';
import { WorkspacePage } from './pages/Workspace.tsx';
import { ChatPage } from './pages/Chat.tsx';
import { PostsPage } from './pages/Posts.tsx';
import { AccountsPage } from './pages/Accounts.tsx';
import { AnalyticsPage } from './pages/Analytics.tsx';
import { KnowledgePage } from './pages/Knowledge.tsx';
import { SettingsPage } from './pages/Settings.tsx';
import { CampaignsPage } from './pages/Campaigns.tsx';
import { LinksPage } from './pages/Links.tsx';
import { CoachPage } from './pages/Coach.tsx';
import { TrendsPage } from './pages/Trends.tsx';

const NAV = [
  { path: '/chat', label: 'Chat' },
  { path: '/posts', label: 'Posts' },
  { path: '/accounts', label: 'Accounts' },
  { path: '/analytics', label: 'Analytics' },
  { path: '/coach', label: 'Coach' },
  { path: '/trends', label: 'Trends' },
  { path: '/knowledge', label: 'Knowledge' },
  { path: '/campaigns', label: 'Campaigns' },
  { path: '/links', label: 'Links' },
  { path: '/workspace', label: 'Workspace' },
  { path: '/settings', label: 'Settings' },
];

export function App() {
  const session = useSession();
  const path = usePath();
  const [error, setError] = useState<unknown>(null);
  const current = NAV.find((n) => path.startsWith(n.path))?.path ?? '/chat';

  const switchTo = async (id: string) => {
    setError(null);
    try {
      await session.switchWorkspace(id);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div className="shell">
      <header>
        <strong>Herald</strong>
        <nav aria-label="Pages">
          {NAV.map((n) => (
            <a
              key={n.path}
              href={n.path}
              aria-current={current === n.path ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(n.path);
              }}
            >
              {n.label}
            </a>
          ))}
        </nav>
        <label className="workspace">
          Workspace
          <select value={session.workspace.id} onChange={(e) => void switchTo(e.target.value)}>
            {session.workspaces.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <Notifications key={session.workspace.id} zone={session.timeZone} />
        <span className="role" data-testid="role">
          {session.workspace.role}
        </span>
        <button type="button" className="link" onClick={() => void session.logout()}>
          Log out
        </button>
      </header>
      <ErrorBox error={error} />
      <main key={session.workspace.id}>
        {current === '/chat' && <ChatPage />}
        {current === '/posts' && <PostsPage />}
        {current === '/accounts' && <AccountsPage />}
        {current === '/analytics' && <AnalyticsPage />}
        {current === '/coach' && <CoachPage />}
        {current === '/trends' && <TrendsPage />}
        {current === '/knowledge' && <KnowledgePage />}
        {current === '/campaigns' && <CampaignsPage />}
        {current === '/links' && <LinksPage />}
        {current === '/workspace' && <WorkspacePage />}
        {current === '/settings' && <SettingsPage />}
      </main>
    </div>
  );
}
