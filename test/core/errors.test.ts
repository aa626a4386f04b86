import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, HeraldError } from '../../core/index.js';

describe('error catalogue', () => {
  it('docs/errors.md documents every code with its status, and only those', async () => {
    const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|\s*(yes|no)\s*\|/gm)].map((m) => [
      m[1],
      Number(m[2]),
      m[3] === 'yes',
    ]);
    const expected = Object.entries(ERROR_CATALOGUE).map(([code, spec]) => [code, spec.status, spec.retryable]);
    expect(rows.sort()).toEqual(expected.sort());
  });

  it('serialises to the one error shape', () => {
    expect(new HeraldError('not_found', { message: 'No post 42' }).toJSON()).toEqual({
      error: { code: 'not_found', message: 'No post 42' },
    });
    expect(new HeraldError('conflict', { details: { field: 'slug' } }).toJSON().error.details).toEqual({
      field: 'slug',
    });
  });
});
