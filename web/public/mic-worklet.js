/**
 * The microphone's AudioWorklet (docs/console.md, Voice): resamples the context's input to
 * 16 kHz by linear interpolation and posts 20 ms frames of 16-bit little-endian PCM (320
 * samples, 640 bytes) to the page, which sends each as one binary WebSocket frame
 * (docs/protocol.md, Audio in). Plain JavaScript in web/public: worklet modules are loaded by
 * URL, from Herald's own origin (the CSP allows scripts from 'self' only).
 */
/* global AudioWorkletProcessor, registerProcessor, sampleRate */
const OUT_RATE = 16000;
const FRAME = 320;

class MicFrames extends AudioWorkletProcessor {
  constructor() {
    super();
    // `sampleRate` is the AudioWorkletGlobalScope's: the context's rate.
    this.step = sampleRate / OUT_RATE;
    this.pos = 0;
    this.last = 0;
    this.frame = new Int16Array(FRAME);
    this.n = 0;
  }

  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    // Positions are in input samples; `pos` may lie between the previous block's last sample
    // (index -1, kept in `last`) and this block's first.
    let pos = this.pos;
    while (pos <= input.length - 1) {
      const i = Math.floor(pos);
      const frac = pos - i;
      const a = i < 0 ? this.last : input[i];
      const b = i + 1 < input.length ? input[i + 1] : input[i];
      const v = Math.max(-1, Math.min(1, a + (b - a) * frac));
      this.frame[this.n++] = v < 0 ? v * 0x8000 : v * 0x7fff;
      if (this.n === FRAME) {
        this.port.postMessage(this.frame.buffer, [this.frame.buffer]);
        this.frame = new Int16Array(FRAME);
        this.n = 0;
      }
      pos += this.step;
    }
    this.last = input[input.length - 1];
    this.pos = pos - input.length;
    return true;
  }
}

registerProcessor('mic-frames', MicFrames);
