/**
 * Kept statements for embedded PGlite. `PGlite.query()` sends every call as six protocol
 * exchanges with the WebAssembly backend (parse, describe, bind, describe, execute, sync) and
 * plans the statement again each time; for the small queries Herald runs most (a thread's
 * read, a principal, a page of posts) that is most of their cost. `keepStatements` makes the
 * client's top-level `query()` — the one drizzle calls outside transactions — parse each SQL
 * text once as a named statement (so PostgreSQL keeps its plan, as it does for node-postgres'
 * named queries) and then run it in one exchange (bind, describe, execute, sync).
 *
 * What stays as PGlite does it: the same locks (no query runs inside another caller's open
 * transaction), the same parameter serializers and result parsers, the same error objects
 * (with `query` and `params` attached), and the same sync to the file system after a write.
 * Calls inside `transaction()`, calls with options this does not know (blobs, parameter
 * types) and calls on a closed client go to PGlite's own `query()`. At most
 * `MAX_STATEMENTS` texts are kept (least recently used closed first); a kept statement whose
 * result shape changed under it (DDL) is parsed again once.
 */
import { parse as pgParse, protocol, type PGlite, type QueryOptions, type Results } from '@electric-sql/pglite';

type BackendMessage = Awaited<ReturnType<PGlite['execProtocol']>>['messages'][number];
interface RowDescriptionMessage {
  fields: Array<{ name: string; dataTypeID: number }>;
}
interface DataRowMessage {
  fields: Array<string | null>;
}
interface CommandCompleteMessage {
  text: string;
}

/** Rows a command reports (`INSERT 0 3`, `UPDATE 2`, ...), as PGlite counts them. */
function affected(tag: string): number {
  const [command, a, b] = tag.split(' ');
  if (command === 'INSERT') return Number.parseInt(b ?? '0', 10);
  if (command === 'UPDATE' || command === 'DELETE' || command === 'COPY' || command === 'MERGE')
    return Number.parseInt(a ?? '0', 10);
  return 0;
}

export const MAX_STATEMENTS = 256;

/** Options this path passes on as `query()` would; any other makes the call go to PGlite's own. */
const HANDLED = new Set(['rowMode', 'parsers', 'serializers']);

/** A kept statement whose result shape changed under it (DDL): PostgreSQL will not run it again. */
const planChanged = (err: unknown) =>
  (err as { code?: string }).code === '0A000' &&
  /cached plan must not change result type/.test((err as { message?: string }).message ?? '');

interface Kept {
  name: string;
  paramTypes: number[];
}

const serialize = protocol.serialize;

function concat(...parts: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface KeptStatements {
  /** How many SQL texts are kept as named statements now. */
  readonly size: number;
}

export function keepStatements(client: PGlite): KeptStatements {
  const original = client.query.bind(client);
  const kept = new Map<string, Kept>();
  let counter = 0;

  const exchange = async (...messages: Uint8Array[]) =>
    (await client.execProtocol(concat(...messages, serialize.sync()), { syncToFs: false })).messages;

  async function prepare(text: string): Promise<Kept> {
    const name = `herald_s${++counter}`;
    const messages = await exchange(serialize.parse({ name, text }), serialize.describe({ type: 'S', name }));
    const statement = { name, paramTypes: pgParse.parseDescribeStatementResults(messages) };
    if (kept.size >= MAX_STATEMENTS) {
      const [oldestText, oldest] = kept.entries().next().value as [string, Kept];
      kept.delete(oldestText);
      await exchange(serialize.close({ type: 'S', name: oldest.name }));
    }
    kept.set(text, statement);
    return statement;
  }

  async function forget(text: string): Promise<void> {
    const statement = kept.get(text);
    if (!statement) return;
    kept.delete(text);
    await exchange(serialize.close({ type: 'S', name: statement.name }));
  }

  async function run(text: string, params: unknown[], options: QueryOptions | undefined): Promise<Results> {
    let statement = kept.get(text);
    if (statement) {
      // Most recently used last: the first entry is the one to close when full.
      kept.delete(text);
      kept.set(text, statement);
    } else statement = await prepare(text);
    const types = statement.paramTypes;
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const type = types[i]!;
      const write = options?.serializers?.[type] ?? client.serializers[type];
      return write ? write(value) : String(value as string);
    });
    const messages = await exchange(
      serialize.bind({ statement: statement.name, values }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
    );
    return results(messages, options);
  }

  /**
   * The rows of one statement, as PGlite's `parseResults` builds them — without its copy of
   * every type parser per call, which cost more than the rest of a small query.
   */
  function results(messages: BackendMessage[], options: QueryOptions | undefined): Results {
    const own = options?.parsers;
    const asArray = options?.rowMode === 'array';
    let fields: Array<{ name: string; dataTypeID: number }> = [];
    let readers: Array<(text: string) => unknown> = [];
    const rows: unknown[] = [];
    let affectedRows = 0;
    for (const m of messages) {
      if (m.name === 'rowDescription') {
        fields = (m as unknown as RowDescriptionMessage).fields.map((f) => ({
          name: f.name,
          dataTypeID: f.dataTypeID,
        }));
        readers = fields.map(({ dataTypeID: type }) => {
          const read = own?.[type] ?? client.parsers[type];
          return read ? (text: string) => read(text, type) : (text: string) => text;
        });
      } else if (m.name === 'dataRow') {
        const values = (m as unknown as DataRowMessage).fields;
        if (asArray) rows.push(values.map((v, i) => (v === null ? null : readers[i]!(v))));
        else {
          const row: Record<string, unknown> = {};
          for (let i = 0; i < fields.length; i++) {
            const v = values[i];
            row[fields[i]!.name] = v === null || v === undefined ? null : readers[i]!(v);
          }
          rows.push(row);
        }
      } else if (m.name === 'commandComplete') affectedRows = affected((m as unknown as CommandCompleteMessage).text);
    }
    return { rows, fields, affectedRows } as Results;
  }

  const query = async <T>(text: string, params: unknown[] = [], options?: QueryOptions): Promise<Results<T>> => {
    if (client.closed || (options && Object.keys(options).some((k) => !HANDLED.has(k))))
      return original<T>(text, params, options);
    await client._checkReady();
    return client._runExclusiveTransaction(() =>
      client._runExclusiveQuery(async () => {
        let result: Results;
        try {
          try {
            result = await run(text, params, options);
          } catch (err) {
            if (!planChanged(err)) throw err;
            await forget(text);
            result = await run(text, params, options);
          }
        } catch (err) {
          // As PGlite's own query() reports a failed statement.
          if (err && typeof err === 'object') Object.assign(err, { query: text, params, queryOptions: options });
          throw err;
        }
        await client.syncToFs();
        return result as Results<T>;
      }),
    );
  };
  client.query = query as PGlite['query'];
  return {
    get size() {
      return kept.size;
    },
  };
}
