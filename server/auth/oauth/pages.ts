/**
 * The sign-in and consent pages of Herald's OAuth authorization server: plain server-rendered
 * HTML, no script. Every value is escaped; every form carries the page's CSRF token, which the
 * server checks against the request cookie the page was served with.
 */
import { API_KEY_SCOPES, type ApiKeyScope } from '../principal.js';

const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const SCOPE_LABELS: Record<ApiKeyScope, string> = {
  read: 'Read posts, accounts, calendar and analytics',
  write: 'Draft, schedule, queue and cancel posts',
  admin: 'Everything an admin of the workspace can do',
};

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Herald</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#1c1c1c}
h1{font-size:1.4rem}label{display:block;margin:.6rem 0}input[type=email],input[type=password],select{width:100%;padding:.4rem;font:inherit}
button{font:inherit;padding:.5rem 1rem;margin:.8rem .5rem 0 0}.error{color:#a40000}.muted{color:#555;font-size:.9rem}</style>
</head><body>${body}</body></html>`;
}

export interface PageRequest {
  id: string;
  csrf: string;
  clientName: string;
  redirectHost: string;
}

const hidden = (r: PageRequest, step: string) =>
  `<input type="hidden" name="request" value="${esc(r.id)}"><input type="hidden" name="csrf" value="${esc(r.csrf)}"><input type="hidden" name="step" value="${step}">`;

export function signInPage(r: PageRequest, error?: string): string {
  return layout(
    'Sign in',
    `<h1>Sign in to Herald</h1>
<p><strong>${esc(r.clientName)}</strong> wants to use Herald on your behalf. Sign in to choose what it may do.</p>
${error ? `<p class="error">${esc(error)}</p>` : ''}
<form method="post" action="/oauth/authorize">${hidden(r, 'login')}
<label>Email <input type="email" name="email" autocomplete="username" required></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>`,
  );
}

export function consentPage(
  r: PageRequest,
  workspaces: Array<{ id: string; name: string; role: string }>,
  requested: readonly ApiKeyScope[],
  error?: string,
): string {
  const options = workspaces
    .map((w) => `<option value="${esc(w.id)}">${esc(w.name)} (${esc(w.role)})</option>`)
    .join('');
  const scopes = (Object.keys(API_KEY_SCOPES) as ApiKeyScope[])
    .map(
      (s) =>
        `<label><input type="checkbox" name="scope" value="${s}"${requested.includes(s) ? ' checked' : ''}> <strong>${s}</strong> — ${esc(SCOPE_LABELS[s])}</label>`,
    )
    .join('');
  return layout(
    'Authorize',
    `<h1>Authorize ${esc(r.clientName)}</h1>
<p class="muted">It will be sent back to ${esc(r.redirectHost)}. It acts as you, never with more than your role in the workspace, and you can revoke it any time (console: Settings → Connected apps).</p>
${error ? `<p class="error">${esc(error)}</p>` : ''}
<form method="post" action="/oauth/authorize">${hidden(r, 'consent')}
<label>Workspace <select name="workspace">${options}</select></label>
<fieldset><legend>It may</legend>${scopes}</fieldset>
<button type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny">Deny</button></form>`,
  );
}

export function errorPage(title: string, message: string): string {
  return layout(title, `<h1>${esc(title)}</h1><p class="error">${esc(message)}</p>`);
}
