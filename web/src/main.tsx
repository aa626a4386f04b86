/** Entry: the session decides between the sign-in page and the console. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { SessionProvider } from './session.tsx';
import { App } from './App.tsx';
import { AuthPage } from './pages/Auth.tsx';
import './style.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <SessionProvider signedOut={<AuthPage />} loading={<p className="loading">Loading…</p>}>
      <App />
    </SessionProvider>
  </StrictMode>,
);
