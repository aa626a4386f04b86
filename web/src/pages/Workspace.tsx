/**
 * The workspace: its members and roles, invitations (admins invite by email with a role; the
 * token is shown once) and a new workspace of one's own. Write controls show only to roles
 * that may use them; the API refuses them to the others anyway.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { can, useSession, type Role } from '../session.tsx';
import { ErrorBox } from '../ui.tsx';

interface Member {
  userId: string;
  email: string;
  role: Role;
}
interface Invitation {
  id: string;
  email: string;
  role: Role;
  expiresAt: string;
}

export function WorkspacePage() {
  const session = useSession();
  const admin = can(session.workspace.role, 'admin');
  const [members, setMembers] = useState<Member[]>([]);
  const [invitations, setInvitations] = useState<Invitation[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('editor');
  const [token, setToken] = useState<string | null>(null);
  const [newName, setNewName] = useState('');

  const load = useCallback(async () => {
    try {
      setMembers((await api.get<{ items: Member[] }>('/v1/members')).items);
      if (admin) setInvitations((await api.get<{ items: Invitation[] }>('/v1/invitations')).items);
    } catch (err) {
      setError(err);
    }
  }, [admin]);
  useEffect(() => void load(), [load]);

  const invite = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const res = await api.post<{ token: string }>('/v1/invitations', { email, role });
      setToken(res.token);
      setEmail('');
      await load();
    } catch (err) {
      setError(err);
    }
  };

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const ws = await api.post<{ id: string }>('/v1/workspaces', { name: newName });
      setNewName('');
      await session.switchWorkspace(ws.id);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <h1>{session.workspace.name}</h1>
      <ErrorBox error={error} />
      <section className="card" aria-labelledby="members-h">
        <h2 id="members-h">Members</h2>
        <table>
          <thead>
            <tr>
              <th>Email</th>
              <th>Role</th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.userId}>
                <td>{m.email}</td>
                <td>{m.role}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {admin && (
        <section className="card" aria-labelledby="invite-h">
          <h2 id="invite-h">Invite someone</h2>
          <form className="row" onSubmit={(e) => void invite(e)}>
            <label>
              Email
              <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
            </label>
            <label>
              Role
              <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
                <option value="viewer">viewer</option>
                <option value="editor">editor</option>
                <option value="admin">admin</option>
              </select>
            </label>
            <div className="actions">
              <button type="submit">Invite</button>
            </div>
          </form>
          {token && (
            <p className="notice">
              Invitation token (shown once; the person signs up or accepts with it):{' '}
              <code data-testid="invitation-token">{token}</code>
            </p>
          )}
          {invitations.length > 0 && (
            <ul>
              {invitations.map((i) => (
                <li key={i.id}>
                  {i.email} as {i.role}, until {new Date(i.expiresAt).toLocaleDateString()}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
      <section className="card" aria-labelledby="new-ws-h">
        <h2 id="new-ws-h">New workspace</h2>
        <form className="row" onSubmit={(e) => void create(e)}>
          <label>
            Name
            <input required value={newName} onChange={(e) => setNewName(e.target.value)} />
          </label>
          <div className="actions">
            <button type="submit">Create workspace</button>
          </div>
        </form>
      </section>
    </>
  );
}
