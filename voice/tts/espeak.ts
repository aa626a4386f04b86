/**
 * Local text-to-speech with `espeak-ng` (Debian package `espeak-ng`): one child process per
 * sentence, the text on its stdin (never on the command line, so no text can pass for an
 * option), WAV on its stdout, no shell. Fast and robotic; it needs nothing else.
 */
import { spawn } from 'node:child_process';
import { HeraldError } from '../../core/index.js';
import { decodeWav, type Pcm } from '../audio.js';
import { ttsFailed, type TextToSpeech } from './types.js';

export interface EspeakOptions {
  /** Program name or path. Default `espeak-ng`. */
  bin?: string;
  /** espeak-ng voice, e.g. `en-us`. Default `en-us`. */
  voice?: string;
  /** Words per minute. Default 175. */
  wordsPerMinute?: number;
  timeoutMs?: number;
}

export class EspeakTextToSpeech implements TextToSpeech {
  readonly name = 'espeak-ng';
  readonly #bin: string;
  readonly #args: string[];
  readonly #timeoutMs: number;

  constructor(options: EspeakOptions = {}) {
    this.#bin = options.bin ?? 'espeak-ng';
    this.#args = ['--stdout', '-v', options.voice ?? 'en-us', '-s', String(options.wordsPerMinute ?? 175)];
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  async check(): Promise<void> {
    await this.synthesize('ok', AbortSignal.timeout(this.#timeoutMs));
  }

  synthesize(text: string, signal: AbortSignal): Promise<Pcm> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.#bin, this.#args, { stdio: ['pipe', 'pipe', 'pipe'], shell: false });
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
        finish(() => reject(ttsFailed(this.name, 'Speaking was stopped')));
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        finish(() => reject(ttsFailed(this.name, `espeak-ng took longer than ${this.#timeoutMs} ms`)));
      }, this.#timeoutMs);
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-1000)));
      child.stdin.on('error', () => {}); // a child that died early: reported by 'close'
      child.on('error', (e) =>
        finish(() =>
          reject(
            (e as NodeJS.ErrnoException).code === 'ENOENT'
              ? new HeraldError('voice_unavailable', {
                  message: `${this.#bin} was not found: install it with \`apt-get install espeak-ng\` (or set VOICE_TTS to another engine)`,
                  details: { engine: this.name, missing: 'binary' },
                })
              : ttsFailed(this.name, `espeak-ng could not start: ${e.message}`, e),
          ),
        ),
      );
      child.on('close', (code) =>
        finish(() => {
          if (code !== 0) return reject(ttsFailed(this.name, `espeak-ng exited with ${code}: ${err.trim()}`));
          try {
            resolve(decodeWav(Buffer.concat(out)));
          } catch (e) {
            reject(ttsFailed(this.name, `espeak-ng wrote no usable WAV: ${(e as Error).message}`, e));
          }
        }),
      );
      child.stdin.end(text);
    });
  }
}
