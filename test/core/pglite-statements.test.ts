/**
 * Kept statements on PGlite (`core/db/pglite-statements.ts`): the same answers and errors as
 * PGlite's own `query()` — compared side by side on two databases — with each text parsed
 * once, a bounded number kept, DDL under a kept statement survived, and no query slipping into
 * another caller's open transaction.
 */
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepStatements, MAX_STATEMENTS, type KeptStatements } from '../../core/db/pglite-statements.js';

let plain: PGlite;
let kept: PGlite;
let statements: KeptStatements;

beforeAll(async () => {
  plain = await PGlite.create();
  kept = await PGlite.create();
  statements = keepStatements(kept);
  for (const db of [plain, kept])
    await db.exec(`
      create type mood as enum ('calm', 'busy');
      create table items (id uuid primary key, name text not null, mood mood, tags text[], doc jsonb,
                          data bytea, at timestamptz, n int, big bigint, ok boolean);`);
});

afterAll(async () => {
  await plain?.close();
  await kept?.close();
});

/** Runs the same call on both databases; the kept one must answer exactly as PGlite does. */
async function same(text: string, params?: unknown[], options?: Parameters<PGlite['query']>[2]) {
  const [a, b] = await Promise.all([plain.query(text, params, options), kept.query(text, params, options)]);
  expect(b).toEqual(a);
  return b;
}

async function sameError(text: string, params?: unknown[]) {
  const caught = async (db: PGlite) => {
    try {
      await db.query(text, params);
    } catch (err) {
      return err as Record<string, unknown>;
    }
    throw new Error(`"${text}" did not fail`);
  };
  const [a, b] = await Promise.all([caught(plain), caught(kept)]);
  for (const key of ['message', 'code', 'constraint', 'detail', 'query', 'params'])
    expect([key, b[key]]).toEqual([key, a[key]]);
  return b;
}

describe('kept statements answer as PGlite does', () => {
  it('writes, reads (objects and arrays) and every common type, parameters serialised alike', async () => {
    const id = '7a4c6ab2-56c1-4a8e-9d8a-0a3f5e8f0c11';
    const row = [id, 'one', 'calm', ['a', 'b'], { k: [1, 'x'] }, new Uint8Array([0, 255, 7]), new Date(86_400_000), 5];
    const insert = await same(
      'insert into items (id, name, mood, tags, doc, data, at, n, big, ok) values ($1, $2, $3, $4, $5, $6, $7, $8, 9007199254740993, true)',
      row,
    );
    expect(insert.affectedRows).toBe(1);
    const read = await same('select * from items where id = $1', [id]);
    expect(read.rows).toHaveLength(1);
    expect(read.rows[0]).toMatchObject({ name: 'one', mood: 'calm', tags: ['a', 'b'], n: 5, ok: true });
    await same('select * from items where id = $1', [id], { rowMode: 'array' });
    await same('select name, null::text as nothing, $1::int + 1 as next from items', [41]);
    const updated = await same('update items set n = n + $1 where mood = $2', [1, 'calm']);
    expect(updated.affectedRows).toBe(1);
    await same('select count(*)::int as n from items where id = any($1::uuid[])', [[id]]);
    await same('select $1::text as t, $2::jsonb as j, $3::text as s', [null, null, undefined]);
    // A parser of the caller's wins for its type, as in PGlite.
    const mine = await same('select n from items', [], { parsers: { 23: (v: string) => `int:${v}` } });
    expect(mine.rows[0]).toEqual({ n: 'int:6' });
  });

  it('errors carry what PGlite gives: code, constraint, detail, the query and its parameters', async () => {
    const id = '7a4c6ab2-56c1-4a8e-9d8a-0a3f5e8f0c11';
    const dup = await sameError('insert into items (id, name) values ($1, $2)', [id, 'again']);
    expect(dup.code).toBe('23505');
    expect(dup.constraint).toBe('items_pkey');
    expect((await sameError('select * from items where id = $1', ['not-a-uuid'])).code).toBe('22P02');
    expect((await sameError('select * from nowhere where x = $1', [1])).code).toBe('42P01');
    expect((await sameError('selec 1')).code).toBe('42601');
    // Still answering afterwards, and a text that failed to parse was not kept.
    await same('select count(*)::int as n from items');
  });
});

describe('what is kept', () => {
  it('each text once, the least recently used closed past the cap, answers unchanged', async () => {
    await kept.query('select 1 as warm');
    const before = statements.size;
    for (let i = 0; i < 5; i++) await kept.query('select 1 as warm');
    expect(statements.size).toBe(before);
    for (let i = 0; i < MAX_STATEMENTS + 40; i++) {
      const { rows } = await kept.query<{ v: number }>(`select $1::int + ${i} as v`, [1]);
      expect(rows[0]!.v).toBe(i + 1);
    }
    expect(statements.size).toBe(MAX_STATEMENTS);
    // Closed ones are parsed again when used again; the server holds no more than the cap.
    expect((await kept.query<{ v: number }>('select $1::int + 0 as v', [7])).rows[0]!.v).toBe(7);
    const { rows } = await kept.query<{ n: number }>(
      "select count(*)::int as n from pg_prepared_statements where name like 'herald_s%'",
    );
    expect(rows[0]!.n).toBeLessThanOrEqual(MAX_STATEMENTS);
  });

  it('a table changed under a kept statement: parsed again, the new columns answered', async () => {
    await kept.exec('create table shapes (a int)');
    await kept.query('insert into shapes values ($1)', [1]);
    expect((await kept.query('select * from shapes where a = $1', [1])).rows).toEqual([{ a: 1 }]);
    await kept.exec('alter table shapes add column b text');
    await kept.query("update shapes set b = 'x'");
    expect((await kept.query('select * from shapes where a = $1', [1])).rows).toEqual([{ a: 1, b: 'x' }]);
  });

  it("never runs inside another caller's open transaction", async () => {
    await kept.exec('create table tx_seen (v int)');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const insertedInTx = new Promise<void>((resolve) => (inserted = resolve));
    const tx = kept.transaction(async (t) => {
      await t.query('insert into tx_seen values (1)');
      inserted();
      await held;
      await t.rollback();
    });
    await insertedInTx;
    // Asked while the transaction is open: it waits for the end, so it never sees the row.
    const read = kept.query<{ n: number }>('select count(*)::int as n from tx_seen where v = $1', [1]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    await tx;
    expect((await read).rows[0]!.n).toBe(0);
  });

  it('inside a transaction, and on blobs or parameter types, PGlite answers itself', async () => {
    await kept.transaction(async (t) => {
      await t.query('insert into tx_seen values ($1)', [2]);
      expect((await t.query<{ n: number }>('select count(*)::int as n from tx_seen')).rows[0]!.n).toBe(1);
    });
    const typed = await kept.query<{ v: string }>('select $1 as v', ['7'], { paramTypes: [25] });
    expect(typed.rows[0]!.v).toBe('7');
  });
});
