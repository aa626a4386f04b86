/**
 * Talking to Herald from the browser (docs/protocol.md, Voice): the microphone, with the
 * browser's echo cancellation on, goes through an AudioWorklet (web/public/mic-worklet.js)
 * that sends 20 ms frames of 16 kHz PCM over the chat socket; Herald's speech comes back as
 * binary frames announced by `voice_audio` (which states their sample rate) and is scheduled
 * back to back so sentences play without gaps. When Herald reports a barge-in or a cancelled
 * turn, everything still queued stops at once.
 */
import type { ChatSocket, ServerEvent } from './chat-socket.ts';

export interface VoiceStatus {
  /** `listening` once Herald accepted the session, `speaking` while its audio plays. */
  state: 'starting' | 'listening' | 'speaking';
  /** Milliseconds of Herald's speech played (or queued) so far in this session. */
  playedMs: number;
}

export class VoiceSession {
  readonly #socket: ChatSocket;
  readonly #stream: MediaStream;
  readonly #ctx: AudioContext;
  readonly #node: AudioWorkletNode;
  readonly #unsubscribe: Array<() => void> = [];
  readonly #playing = new Set<AudioBufferSourceNode>();
  #rate = 22_050;
  #nextAt = 0;
  #status: VoiceStatus = { state: 'starting', playedMs: 0 };
  #stopped = false;

  private constructor(
    socket: ChatSocket,
    stream: MediaStream,
    ctx: AudioContext,
    node: AudioWorkletNode,
    readonly onStatus: (s: VoiceStatus) => void,
  ) {
    this.#socket = socket;
    this.#stream = stream;
    this.#ctx = ctx;
    this.#node = node;
  }

  /** Asks for the microphone, then starts a voice session on the socket (in `threadId`, if any). */
  static async start(
    socket: ChatSocket,
    opts: { threadId?: string | undefined; onStatus: (s: VoiceStatus) => void },
  ): Promise<VoiceSession> {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    const ctx = new AudioContext();
    try {
      await ctx.audioWorklet.addModule('/mic-worklet.js');
    } catch (err) {
      for (const t of stream.getTracks()) t.stop();
      await ctx.close();
      throw err;
    }
    const node = new AudioWorkletNode(ctx, 'mic-frames');
    const session = new VoiceSession(socket, stream, ctx, node, opts.onStatus);
    session.#listen();
    socket.send({
      type: 'voice_start',
      sampleRate: 16_000,
      encoding: 'pcm_s16le',
      ...(opts.threadId ? { threadId: opts.threadId } : {}),
    });
    node.port.onmessage = (m: MessageEvent<ArrayBuffer>) => socket.sendBinary(m.data);
    // The worklet only runs while its output is pulled: route it to the speakers at zero volume.
    const mute = ctx.createGain();
    mute.gain.value = 0;
    ctx.createMediaStreamSource(stream).connect(node).connect(mute).connect(ctx.destination);
    return session;
  }

  #set(patch: Partial<VoiceStatus>): void {
    // After stop(), late events (a last frame ending) must not bring the status back.
    if (this.#stopped) return;
    this.#status = { ...this.#status, ...patch };
    this.onStatus(this.#status);
  }

  #listen(): void {
    this.#unsubscribe.push(
      this.#socket.on((e: ServerEvent) => {
        if (e.type === 'voice_started') this.#set({ state: 'listening' });
        if (e.type === 'voice_audio' && typeof e.sampleRate === 'number') this.#rate = e.sampleRate;
        if (e.type === 'voice_barge_in' || e.type === 'voice_audio_stopped') this.#silence();
      }),
      this.#socket.onBinary((data) => this.#play(data)),
    );
  }

  #play(data: ArrayBuffer): void {
    const pcm = new Int16Array(data);
    const buffer = this.#ctx.createBuffer(1, pcm.length, this.#rate);
    const out = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 0x8000;
    const source = this.#ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.#ctx.destination);
    // Back to back: each frame starts where the last one ends, or now after a pause.
    const at = Math.max(this.#ctx.currentTime, this.#nextAt);
    source.start(at);
    this.#nextAt = at + buffer.duration;
    this.#playing.add(source);
    source.onended = () => {
      this.#playing.delete(source);
      if (this.#playing.size === 0 && this.#status.state === 'speaking') this.#set({ state: 'listening' });
    };
    this.#set({ state: 'speaking', playedMs: this.#status.playedMs + buffer.duration * 1000 });
  }

  /** Stops what is playing and drops what is queued (a barge-in, a cancel). */
  #silence(): void {
    for (const s of this.#playing) s.stop();
    this.#playing.clear();
    this.#nextAt = 0;
    if (this.#status.state === 'speaking') this.#set({ state: 'listening' });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#socket.send({ type: 'voice_stop' });
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#silence();
    this.#node.port.onmessage = null;
    for (const t of this.#stream.getTracks()) t.stop();
    await this.#ctx.close();
  }
}
