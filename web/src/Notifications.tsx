/**
 * Notifications in the header: messages Herald sends the member outside a chat turn (the
 * coach's morning message, a nudge, a trend alert). The list and the unread count come from
 * `GET /v1/notifications`; a `notification` frame on the WebSocket adds one live, with a toast;
 * opening one's "Mark read" calls `POST /v1/notifications/:id/read`.
 */
import { useCallback, useEffect, useState } from 'react';
import { api } from './api.ts';
import { ChatSocket } from './chat-socket.ts';
import { ErrorBox } from './ui.tsx';

interface Notification {
  id: string;
  kind: string;
  text: string;
  createdAt: string;
  readAt: string | null;
}

const TOAST_MS = 10_000;
const firstLine = (text: string) => text.split('\n')[0] ?? '';

export function Notifications(props: { zone: string }) {
  const [items, setItems] = useState<Notification[]>([]);
  const [open, setOpen] = useState(false);
  const [toast, setToast] = useState<Notification | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    try {
      setItems((await api.get<{ items: Notification[] }>('/v1/notifications?limit=50')).items);
    } catch (err) {
      setError(err);
    }
  }, []);
  useEffect(() => void load(), [load]);
  useEffect(() => {
    const socket = new ChatSocket();
    socket.on((e) => {
      if (e.type !== 'notification') return;
      const n: Notification = {
        id: String(e.notificationId),
        kind: String(e.kind),
        text: String(e.text ?? ''),
        createdAt: String(e.at),
        readAt: null,
      };
      setItems((all) => [n, ...all.filter((x) => x.id !== n.id)]);
      setToast(n);
    });
    return () => socket.close();
  }, []);
  useEffect(() => {
    if (!toast) return;
    const timer = setTimeout(() => setToast(null), TOAST_MS);
    return () => clearTimeout(timer);
  }, [toast]);

  const markRead = async (id: string) => {
    setError(null);
    try {
      await api.post(`/v1/notifications/${id}/read`, {});
      setItems((all) => all.map((n) => (n.id === id ? { ...n, readAt: new Date().toISOString() } : n)));
    } catch (err) {
      setError(err);
    }
  };

  const unread = items.filter((n) => !n.readAt).length;
  const when = (iso: string) =>
    new Intl.DateTimeFormat(undefined, { timeZone: props.zone, dateStyle: 'medium', timeStyle: 'short' }).format(
      new Date(iso),
    );
  return (
    <div className="notifications">
      <button
        type="button"
        className="secondary"
        aria-expanded={open}
        aria-controls="notifications-panel"
        onClick={() => setOpen(!open)}
      >
        {/* The accessible name is the visible text ("Notifications 2 unread"), as WCAG 2.5.3 asks. */}
        Notifications
        {unread > 0 && (
          <span className="badge" data-testid="notifications-unread">
            {' '}
            {unread}
            <span className="visually-hidden"> unread</span>
          </span>
        )}
      </button>
      {toast && (
        <div className="toast" role="status" data-testid="toast">
          <p>{firstLine(toast.text)}</p>
          <button
            type="button"
            className="link"
            onClick={() => {
              setOpen(true);
              setToast(null);
            }}
          >
            Show
          </button>{' '}
          <button type="button" className="link" onClick={() => setToast(null)}>
            Dismiss
          </button>
        </div>
      )}
      {open && (
        <section id="notifications-panel" className="panel" aria-label="Notifications list" tabIndex={0}>
          <ErrorBox error={error} />
          {items.length === 0 && <p>No notifications.</p>}
          <ul>
            {items.map((n) => (
              <li key={n.id} className={n.readAt ? 'read' : 'unread'} data-testid="notification">
                <p className="muted">
                  {n.kind} · {when(n.createdAt)}
                  {n.readAt ? ' · read' : ''}
                </p>
                <p className="notification-text">{n.text}</p>
                {!n.readAt && (
                  <button type="button" className="link" onClick={() => void markRead(n.id)}>
                    Mark read
                  </button>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
