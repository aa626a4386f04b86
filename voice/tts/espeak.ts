/**
 * Local text-to-speech with eSpeak NG compiled to WebAssembly (the `espeak-ng` npm package),
 * so spoken answers need no system package. Fast and robotic; it needs nothing else.
 *
 * Each sentence is one run of the espeak-ng program inside the WebAssembly module: the text is
 * written to a file in the module's in-memory file system and read with `-f` (never on the
 * command line, so no text can pass for an option), and the WAV is read back from another.
 * A run takes about a tenth of a second of CPU that would otherwise stall every WebSocket on
 * the event loop, so runs happen in one worker thread per engine, which compiles the module
 * once. A request that is aborted is dropped when its answer comes; a run past the deadline
 * ends the worker (a new one starts on the next request).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { HeraldError } from '../../core/index.js';
import { decodeWav, type Pcm } from '../audio.js';
import { ttsFailed, type TextToSpeech } from './types.js';

export interface EspeakOptions {
  /** eSpeak NG voice, e.g. `en-us`. Default `en-us`. */
  voice?: string;
  /** Words per minute. Default 175. */
  wordsPerMinute?: number;
  timeoutMs?: number;
}

/** What the worker is sent per sentence, and what it answers. */
interface Job {
  id: number;
  text: string;
  args: string[];
}
type Answer = { id: number; wav: Uint8Array } | { id: number; error: string } | { fatal: string };

/**
 * The worker, as plain JavaScript (it runs outside any TypeScript loader). It imports the
 * Emscripten module factory, compiles the .wasm once, and instantiates it per sentence: the
 * program's `main` runs at instantiation and the instance is thrown away after.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const ready = (async () => {
  const { default: ESpeakNg } = await import(workerData.moduleUrl);
  const wasm = await WebAssembly.compile(readFileSync(workerData.wasmPath));
  return { ESpeakNg, wasm };
})();
ready.catch((e) => parentPort.postMessage({ fatal: String((e && e.message) || e) }));
parentPort.on('message', async ({ id, text, args }) => {
  const said = [];
  try {
    const { ESpeakNg, wasm } = await ready;
    const run = await ESpeakNg({
      arguments: [...args, '-w', '/tmp/out.wav', '-f', '/tmp/in.txt'],
      preRun: [(m) => m.FS.writeFile('/tmp/in.txt', text)],
      print: () => {},
      printErr: (line) => said.push(line),
      instantiateWasm: (imports, done) => {
        WebAssembly.instantiate(wasm, imports).then((instance) => done(instance, wasm));
        return {};
      },
    });
    const wav = run.FS.readFile('/tmp/out.wav');
    parentPort.postMessage({ id, wav }, [wav.buffer]);
  } catch (e) {
    // Emscripten adds its own line on a non-zero exit; the program's own line says why.
    const why = said.filter((line) => !/^program exited/.test(line)).join(' ');
    parentPort.postMessage({ id, error: (why || String((e && e.message) || e)).slice(0, 1000) });
  }
});
`;

/** Where the package's module and its .wasm are (resolved here, where node_modules is known). */
function espeakFiles(): { moduleUrl: string; wasmPath: string } {
  const modulePath = createRequire(import.meta.url).resolve('espeak-ng');
  return { moduleUrl: pathToFileURL(modulePath).href, wasmPath: modulePath.replace(/\.js$/, '.wasm') };
}

interface Waiting {
  resolve: (pcm: Pcm) => void;
  reject: (err: unknown) => void;
}

export class EspeakTextToSpeech implements TextToSpeech {
  readonly name = 'espeak-ng';
  readonly #args: string[];
  readonly #timeoutMs: number;
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 0;

  constructor(options: EspeakOptions = {}) {
    this.#args = ['-v', options.voice ?? 'en-us', '-s', String(options.wordsPerMinute ?? 175)];
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async check(): Promise<void> {
    await this.synthesize('ok', AbortSignal.timeout(this.#timeoutMs));
  }

  synthesize(text: string, signal: AbortSignal): Promise<Pcm> {
    if (signal.aborted) return Promise.reject(ttsFailed(this.name, 'Speaking was stopped'));
    let worker: Worker;
    try {
      worker = this.#started();
    } catch (err) {
      return Promise.reject(err);
    }
    const id = this.#nextId++;
    return new Promise<Pcm>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiting.delete(id);
        if (this.#waiting.size === 0) worker.unref();
      };
      const onAbort = () => {
        done();
        reject(ttsFailed(this.name, 'Speaking was stopped'));
      };
      const timer = setTimeout(() => {
        done();
        reject(ttsFailed(this.name, `espeak-ng took longer than ${this.#timeoutMs} ms`));
        this.#stop(worker, 'espeak-ng was stopped after a run past its deadline');
      }, this.#timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.set(id, {
        resolve: (pcm) => (done(), resolve(pcm)),
        reject: (err) => (done(), reject(err)),
      });
      // Referenced while a sentence is on its way, so a process waiting only for speech stays up.
      worker.ref();
      worker.postMessage({ id, text, args: this.#args } satisfies Job);
    });
  }

  /** Ends the worker; the engine starts another on its next sentence. */
  async close(): Promise<void> {
    if (this.#worker) this.#stop(this.#worker, 'The speech engine was closed');
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    let files: ReturnType<typeof espeakFiles>;
    try {
      files = espeakFiles();
    } catch (err) {
      throw new HeraldError('voice_unavailable', {
        message: 'The `espeak-ng` package is not installed: run `npm install` (or set VOICE_TTS to another engine)',
        details: { engine: this.name, missing: 'package' },
        cause: err,
      });
    }
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: files });
    worker.unref();
    worker.on('message', (answer: Answer) => {
      if ('fatal' in answer) return this.#stop(worker, `espeak-ng could not load: ${answer.fatal}`);
      const waiting = this.#waiting.get(answer.id);
      if (!waiting) return; // aborted or timed out meanwhile
      if ('error' in answer) return waiting.reject(ttsFailed(this.name, `espeak-ng failed: ${answer.error}`));
      try {
        waiting.resolve(decodeWav(Buffer.from(answer.wav.buffer, answer.wav.byteOffset, answer.wav.byteLength)));
      } catch (e) {
        waiting.reject(ttsFailed(this.name, `espeak-ng wrote no usable WAV: ${(e as Error).message}`, e));
      }
    });
    worker.on('error', (err) => this.#stop(worker, `espeak-ng stopped: ${err.message}`));
    worker.on('exit', () => this.#stop(worker, 'espeak-ng stopped'));
    this.#worker = worker;
    return worker;
  }

  /** Fails every sentence still waiting on `worker` and ends it. */
  #stop(worker: Worker, why: string): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    for (const waiting of [...this.#waiting.values()]) waiting.reject(ttsFailed(this.name, why));
    void worker.terminate();
  }
}
