/** Small shared pieces: the error box that shows an API error with each problem it lists. */
import { ApiError } from './api.ts';

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const issues = error instanceof ApiError ? error.issues() : [];
  return (
    <div role="alert" className="error">
      <p>
        {message}
        {error instanceof ApiError && <code> ({error.code})</code>}
      </p>
      {issues.length > 0 && (
        <ul>
          {issues.map((i) => (
            <li key={i}>{i}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** An instant shown in `timeZone`, e.g. "Mon 7 Dec, 09:00". */
export function formatTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat(undefined, {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
  }).format(new Date(iso));
}
