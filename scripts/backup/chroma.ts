/**
 * The knowledge part of a backup: every Chroma collection read through Chroma's own API
 * (name, metadata, HNSW settings, then each record's id, embedding, document and metadata),
 * so the same code backs up the embedded server and a remote one, and a restore rebuilds the
 * collections in whichever Chroma the restored Herald uses. Records keep their embeddings:
 * nothing is embedded again, so search answers as it did when the backup was made.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { ChromaClient, Collection, Metadata } from 'chromadb';
import { createLogger, type Config } from '../../core/index.js';
import { startChroma, type ChromaHandle } from '../../knowledge/index.js';
import { BackupError, CHROMA_DIR, exists } from './manifest.js';

/** Records per read and per write. */
const PAGE = 500;

interface CollectionFile {
  name: string;
  metadata: Record<string, unknown> | null;
  hnsw: Record<string, unknown> | null;
  count: number;
}

interface RecordLine {
  id: string;
  embedding: number[];
  document: string | null;
  metadata: Metadata | null;
}

/** The configured Chroma: CHROMA_URL, or the embedded server over DATA_DIR/chroma. */
export async function openChroma(config: Config): Promise<ChromaHandle> {
  return startChroma({
    url: config.chromaUrl,
    dataDir: config.dataDir,
    startTimeoutMs: config.childStartTimeoutMs,
    logger: createLogger({ level: 'warn' }),
    retryForMs: 0,
  });
}

async function allCollections(client: ChromaClient): Promise<Collection[]> {
  const out: Collection[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await client.listCollections({ limit: 100, offset });
    out.push(...page);
    if (page.length < 100) return out;
  }
}

export async function backupChroma(client: ChromaClient, dir: string): Promise<Array<{ name: string; count: number }>> {
  await mkdir(path.join(dir, CHROMA_DIR), { recursive: true });
  const summary: Array<{ name: string; count: number }> = [];
  for (const collection of await allCollections(client)) {
    const out = createWriteStream(path.join(dir, CHROMA_DIR, `${collection.name}.jsonl`));
    let count = 0;
    for (let offset = 0; ; offset += PAGE) {
      const page = await collection.get({
        limit: PAGE,
        offset,
        include: ['embeddings', 'documents', 'metadatas'],
      });
      for (let i = 0; i < page.ids.length; i++) {
        const line: RecordLine = {
          id: page.ids[i]!,
          embedding: Array.from(page.embeddings?.[i] ?? []),
          document: page.documents?.[i] ?? null,
          metadata: (page.metadatas?.[i] as Metadata | null | undefined) ?? null,
        };
        if (!out.write(JSON.stringify(line) + '\n')) await once(out, 'drain');
      }
      count += page.ids.length;
      if (page.ids.length < PAGE) break;
    }
    out.end();
    await once(out, 'finish');
    const configuration = (collection.configuration ?? {}) as { hnsw?: Record<string, unknown> | null };
    const file: CollectionFile = {
      name: collection.name,
      metadata: (collection.metadata as Record<string, unknown> | undefined) ?? null,
      hnsw: configuration.hnsw ?? null,
      count,
    };
    await writeFile(path.join(dir, CHROMA_DIR, `${collection.name}.json`), JSON.stringify(file, null, 1) + '\n');
    summary.push({ name: collection.name, count });
  }
  return summary;
}

export async function restoreChroma(client: ChromaClient, dir: string, force: boolean): Promise<number> {
  const folder = path.join(dir, CHROMA_DIR);
  if (!(await exists(folder))) return 0;
  const names = (await readdir(folder)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
  const existing = new Set((await allCollections(client)).map((c) => c.name));
  const clash = names.filter((n) => existing.has(n));
  if (clash.length > 0 && !force) {
    throw new BackupError(
      `Chroma already has ${clash.length} of the backup's collections (${clash.slice(0, 3).join(', ')}...): restore into an empty Chroma, or pass --force to replace them.`,
    );
  }
  for (const name of names) {
    const meta = JSON.parse(await readFile(path.join(folder, `${name}.json`), 'utf8')) as CollectionFile;
    if (existing.has(name)) await client.deleteCollection({ name });
    const collection = await client.createCollection({
      name,
      ...(meta.metadata ? { metadata: meta.metadata as Metadata } : {}),
      ...(meta.hnsw ? { configuration: { hnsw: meta.hnsw } } : {}),
      embeddingFunction: null,
    });
    let batch: RecordLine[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await collection.add({
        ids: batch.map((r) => r.id),
        embeddings: batch.map((r) => r.embedding),
        documents: batch.map((r) => r.document ?? ''),
        metadatas: batch.map((r) => r.metadata ?? {}),
      });
      batch = [];
    };
    const lines = createInterface({ input: createReadStream(path.join(folder, `${name}.jsonl`)), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      batch.push(JSON.parse(line) as RecordLine);
      if (batch.length >= PAGE) await flush();
    }
    await flush();
    const count = await collection.count();
    if (count !== meta.count) {
      throw new BackupError(`Chroma collection ${name}: ${count} records restored, the backup holds ${meta.count}`);
    }
  }
  return names.length;
}
