/**
 * A tiny History API router: the console has a handful of top-level pages, each a path that
 * Herald also answers with index.html (server/plugins/web-console.ts), so a reload or a
 * shared link opens the same page.
 */
import { useEffect, useState } from 'react';

const listeners = new Set<() => void>();

export function navigate(path: string): void {
  if (location.pathname + location.search === path) return;
  history.pushState(null, '', path);
  for (const fn of listeners) fn();
}

export function usePath(): string {
  return useLocation(() => location.pathname);
}

/** The query string (`?post=...`): the Posts page opens a post's detail from it. */
export function useSearch(): URLSearchParams {
  return new URLSearchParams(useLocation(() => location.search));
}

function useLocation(read: () => string): string {
  const [path, setPath] = useState(read);
  useEffect(() => {
    const update = () => setPath(read());
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return path;
}
