/**
 * The calendar in the user's zone, a week or a month at a time (`GET /v1/calendar`), with
 * status colours. Each post opens its detail. Editors reschedule by dragging a post to another
 * day, or from the keyboard (Alt+←/→ a day, Alt+↑/↓ a week), keeping its time of day: the
 * console reads the target and puts it back with the new time (`PUT /v1/posts/:id/targets/:id`
 * with the version it read), so the server's validation answers; a refused move shows the
 * server's error and the post goes back to its day.
 */
import { useCallback, useEffect, useRef, useState, type DragEvent, type KeyboardEvent } from 'react';
import { api } from '../api.ts';
import { navigate } from '../router.ts';
import { ErrorBox } from '../ui.tsx';

export interface CalendarItem {
  id: string;
  postId: string;
  platform: string;
  status: string;
  content?: string;
  scheduledAt: string;
  scheduledAtLocal: string;
}
interface Calendar {
  timeZone: string;
  items: CalendarItem[];
}
/** A target as `GET /v1/posts/:id/targets/:targetId` answers it (the variant PUT replaces). */
export interface TargetVariant {
  content: string;
  threadParts: string[];
  media: Array<{ mediaId: string; altText?: string }>;
  options: Record<string, unknown>;
  version: number;
}

/** Today's date (YYYY-MM-DD) in `zone`. */
export const todayIn = (zone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(),
  );

/** A local date moved by `days` (calendar arithmetic on the date alone, no zone involved). */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The Monday of the week holding `date`. */
export function mondayOf(date: string): string {
  const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday 0
  return addDays(date, -weekday);
}

/** The first of the month `months` away from the one holding `date`. */
function monthStart(date: string, months = 0): string {
  const d = new Date(`${date.slice(0, 7)}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}

const dayLabel = (day: string, opts: Intl.DateTimeFormatOptions) =>
  new Intl.DateTimeFormat(undefined, { ...opts, timeZone: 'UTC' }).format(new Date(`${day}T00:00:00Z`));

/** The variant of a target, read before it is put back with a new time. */
export async function readVariant(postId: string, targetId: string): Promise<TargetVariant> {
  const t = await api.get<TargetVariant>(`/v1/posts/${postId}/targets/${targetId}`);
  return { content: t.content, threadParts: t.threadParts, media: t.media, options: t.options, version: t.version };
}

export function CalendarView(props: { zone: string; editor: boolean; reloadKey: number; onZone(zone: string): void }) {
  const [view, setView] = useState<'week' | 'month'>('week');
  // The week's Monday, or (month view) the month's first day.
  const [anchor, setAnchor] = useState(() => mondayOf(todayIn(props.zone)));
  const [calendar, setCalendar] = useState<Calendar | null>(null);
  /** Targets shown on another day while their move is being decided. */
  const [moving, setMoving] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [said, setSaid] = useState('');
  const focusAfter = useRef<string | null>(null);

  const start = view === 'week' ? anchor : mondayOf(anchor);
  const weeks = view === 'week' ? 1 : Math.ceil(dayDiff(start, monthStart(anchor, 1)) / 7);
  const days = Array.from({ length: weeks * 7 }, (_, i) => addDays(start, i));
  const end = addDays(start, weeks * 7);

  const load = useCallback(async () => {
    try {
      const cal = await api.get<Calendar>(`/v1/calendar?from=${start}T00:00&to=${end}T00:00`);
      setCalendar(cal);
      props.onZone(cal.timeZone);
    } catch (err) {
      setError(err);
    }
  }, [start, end]);
  // `reloadKey` changes on every `post_status` event and after the composer or the detail changed a post.
  useEffect(() => void load(), [load, props.reloadKey]);
  // Keyboard moves keep the focus on the post that moved.
  useEffect(() => {
    if (!focusAfter.current) return;
    const el = document.querySelector<HTMLElement>(`[data-target-id="${focusAfter.current}"]`);
    if (!el) return;
    el.focus();
    if (Object.keys(moving).length === 0) focusAfter.current = null;
  });

  const shownDay = (item: CalendarItem) => moving[item.id] ?? item.scheduledAtLocal.slice(0, 10);

  const move = async (item: CalendarItem, day: string) => {
    const local = item.scheduledAtLocal;
    if (shownDay(item) === day) return;
    setError(null);
    setMoving((m) => ({ ...m, [item.id]: day }));
    const time = local.slice(11, 16);
    try {
      const variant = await readVariant(item.postId, item.id);
      await api.put(`/v1/posts/${item.postId}/targets/${item.id}`, { ...variant, scheduledAt: `${day}T${time}` });
      await load();
      setSaid(`Moved to ${dayLabel(day, { weekday: 'short', day: 'numeric', month: 'short' })}, ${time}.`);
    } catch (err) {
      setError(err);
      setSaid('The move was refused; the post stays where it was.');
    } finally {
      setMoving((m) => {
        const { [item.id]: _gone, ...rest } = m;
        return rest;
      });
    }
  };

  const onKey = (e: KeyboardEvent, item: CalendarItem) => {
    if (!props.editor || !e.altKey) return;
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 }[e.key];
    if (!step) return;
    e.preventDefault();
    focusAfter.current = item.id;
    // From the day it is shown on: a move still being decided counts.
    void move(item, addDays(shownDay(item), step));
  };

  const onDrop = (e: DragEvent, day: string) => {
    e.preventDefault();
    const id = e.dataTransfer.getData('text/x-herald-target');
    const item = calendar?.items.find((i) => i.id === id);
    if (item) void move(item, day);
  };

  const shift = (n: number) => setAnchor(view === 'week' ? addDays(anchor, 7 * n) : monthStart(anchor, n));
  const unit = view === 'week' ? 'week' : 'month';
  const month = anchor.slice(0, 7);
  return (
    <section className="card" aria-labelledby="cal-h">
      <div className="row">
        <h2 id="cal-h" style={{ flex: 1 }}>
          {view === 'week' ? `Week of ${anchor}` : dayLabel(anchor, { month: 'long', year: 'numeric' })}{' '}
          <small>({props.zone})</small>
        </h2>
        <div role="group" aria-label="Calendar view" className="row">
          {(['week', 'month'] as const).map((v) => (
            <button
              key={v}
              type="button"
              className={view === v ? undefined : 'secondary'}
              aria-pressed={view === v}
              onClick={() => {
                setView(v);
                setAnchor(v === 'week' ? mondayOf(todayIn(props.zone)) : monthStart(todayIn(props.zone)));
              }}
            >
              {v === 'week' ? 'Week' : 'Month'}
            </button>
          ))}
        </div>
        <button type="button" className="secondary" onClick={() => shift(-1)}>
          Previous {unit}
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => setAnchor(view === 'week' ? mondayOf(todayIn(props.zone)) : monthStart(todayIn(props.zone)))}
        >
          This {unit}
        </button>
        <button type="button" className="secondary" onClick={() => shift(1)}>
          Next {unit}
        </button>
      </div>
      {props.editor && (
        <p className="muted" id="cal-help">
          Drag a post to another day to reschedule it, or focus it and press Alt+← / Alt+→ (a day) or Alt+↑ / Alt+↓ (a
          week). Its time of day stays.
        </p>
      )}
      <ErrorBox error={error} />
      <p aria-live="polite" className="muted" data-testid="calendar-said">
        {said}
      </p>
      <div className={`calendar ${view}`} data-testid="calendar" data-view={view}>
        {days.map((day) => (
          <div
            key={day}
            className={`day${view === 'month' && day.slice(0, 7) !== month ? ' other' : ''}`}
            data-day={day}
            onDragOver={props.editor ? (e) => e.preventDefault() : undefined}
            onDrop={props.editor ? (e) => onDrop(e, day) : undefined}
          >
            <h3>{dayLabel(day, view === 'week' ? { weekday: 'short', day: 'numeric' } : { day: 'numeric' })}</h3>
            {calendar?.items
              .filter((i) => shownDay(i) === day)
              .map((i) => (
                <a
                  key={i.id}
                  href={`/posts?post=${i.postId}`}
                  className={`slot ${i.status}`}
                  data-testid="calendar-item"
                  data-target-id={i.id}
                  draggable={props.editor}
                  aria-describedby={props.editor ? 'cal-help' : undefined}
                  aria-keyshortcuts={
                    props.editor ? 'Alt+ArrowLeft Alt+ArrowRight Alt+ArrowUp Alt+ArrowDown' : undefined
                  }
                  onDragStart={(e) => {
                    e.dataTransfer.setData('text/x-herald-target', i.id);
                    e.dataTransfer.effectAllowed = 'move';
                  }}
                  onKeyDown={(e) => onKey(e, i)}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(`/posts?post=${i.postId}`);
                  }}
                >
                  <span>
                    {i.scheduledAtLocal.slice(11, 16)} · {i.platform} · {i.status}
                  </span>
                  {i.content && (
                    <span className="slot-text">
                      {i.content.length > (view === 'week' ? 80 : 30)
                        ? `${i.content.slice(0, view === 'week' ? 80 : 30)}…`
                        : i.content}
                    </span>
                  )}
                </a>
              ))}
          </div>
        ))}
      </div>
    </section>
  );
}

/** Days from `a` to `b` (local dates). */
function dayDiff(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}
