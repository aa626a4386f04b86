/**
 * A scripted Ollama embedding server (`POST /api/embed` `{ model, input }` →
 * `{ model, embeddings }`, as Ollama's API documents it) whose vectors mean something: each
 * topic of the script is one axis, and a text's vector leans on the axes whose words it
 * contains (the rest on a shared "other" axis). So "ristretto" lands near "espresso" without
 * sharing a word, as a real semantic model would put them, and a test can say exactly how.
 * It can be made to fail (503) to show what happens when the embedder is down.
 */
import { createServer, type Server } from 'node:http';

export interface ScriptedEmbedder {
  /** Base URL for `OllamaEmbedder({ baseUrl })`. */
  readonly url: string;
  /** Texts embedded so far. */
  readonly inputs: string[];
  setDown(down: boolean): void;
  close(): Promise<void>;
}

/** `topics`: axis name → the words that put a text on it. */
export async function startScriptedEmbedder(topics: Record<string, string[]>): Promise<ScriptedEmbedder> {
  const axes = Object.values(topics).map((ws) => new Set(ws.map((w) => w.toLowerCase())));
  const inputs: string[] = [];
  let down = false;
  const vector = (text: string) => {
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    const v = axes.map((axis) => words.filter((w) => axis.has(w)).length);
    v.push(v.some((x) => x > 0) ? 0.2 : 1); // the "other" axis
    const n = Math.hypot(...v) || 1;
    return v.map((x) => x / n);
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (down) return send(503, { error: 'model is loading' });
      if (req.method !== 'POST' || req.url !== '/api/embed') return send(404, { error: 'not found' });
      let body: { model?: string; input?: string | string[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        return send(400, { error: 'invalid JSON' });
      }
      const input = Array.isArray(body.input) ? body.input : [String(body.input ?? '')];
      inputs.push(...input);
      send(200, { model: body.model, embeddings: input.map(vector), prompt_eval_count: input.length });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    inputs,
    setDown: (d) => void (down = d),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
