/**
 * Sign up and log in: `POST /v1/auth/signup` (with the browser's time zone and, to join a
 * workspace, an invitation token) and `POST /v1/auth/login`.
 */
import { useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { ErrorBox } from '../ui.tsx';

export function AuthPage() {
  const [mode, setMode] = useState<'login' | 'signup'>('signup');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [invitation, setInvitation] = useState(() => new URLSearchParams(location.search).get('invitation') ?? '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (mode === 'signup') await api.signup(email, password, zone, invitation.trim() || undefined);
      else await api.login(email, password);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="auth">
      <h1>Herald</h1>
      <form onSubmit={(e) => void submit(e)} aria-label={mode === 'signup' ? 'Sign up' : 'Log in'}>
        <h2>{mode === 'signup' ? 'Create your account' : 'Log in'}</h2>
        <label>
          Email
          <input type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password {mode === 'signup' && <small>(at least 10 characters)</small>}
          <input
            type="password"
            autoComplete={mode === 'signup' ? 'new-password' : 'current-password'}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {mode === 'signup' && (
          <label>
            Invitation token <small>(optional: joins the workspace that invited you)</small>
            <input value={invitation} onChange={(e) => setInvitation(e.target.value)} />
          </label>
        )}
        <ErrorBox error={error} />
        <button type="submit" disabled={busy}>
          {mode === 'signup' ? 'Sign up' : 'Log in'}
        </button>
        <p>
          {mode === 'signup' ? 'Already have an account? ' : 'New here? '}
          <button type="button" className="link" onClick={() => setMode(mode === 'signup' ? 'login' : 'signup')}>
            {mode === 'signup' ? 'Log in' : 'Sign up'}
          </button>
        </p>
      </form>
    </main>
  );
}
