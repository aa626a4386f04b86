/** The events a voice session sends on the WebSocket (connection events: no `seq`). See docs/protocol.md#voice. */
export interface AudioFormat {
  sampleRate: number;
  encoding: 'pcm_s16le';
  channels: 1;
  frameMs: number;
}

export type VoiceEvent =
  | {
      type: 'voice_started';
      threadId: string;
      /** What the client must send: 640-byte frames of this format. */
      input: AudioFormat & { frameBytes: number };
      /** The spoken answer's format (each sentence's `voice_audio` states its own rate too); null: text only. */
      output: { encoding: 'pcm_s16le'; channels: 1; frameMs: number; engine: string } | null;
      stt: string;
      vad: { endSilenceMs: number; preSpeechMs: number; maxUtteranceMs: number };
    }
  | { type: 'voice_stopped'; reason: 'client' }
  | { type: 'voice_muted'; input: boolean; output: boolean }
  /** The VAD heard speech start (`speaking: true`) or end; `atMs` is stream time (ms of audio received). */
  | { type: 'voice_activity'; speaking: boolean; atMs: number; utteranceId: string; dropped?: 'too_short' }
  | {
      type: 'transcript';
      utteranceId: string;
      text: string;
      final: boolean;
      startMs: number;
      endMs?: number;
      /**
       * What the final transcript did: started a turn, answered a confirmation, nothing (no
       * words), or `held`: the user was already speaking again, so it waits to be joined to
       * what they say next (re-sent with `use: 'turn'` if nothing follows).
       */
      use?: 'turn' | 'confirm' | 'none' | 'not_an_answer' | 'held';
      /** With `use: 'turn'` (or an answer's `confirm` / `not_an_answer`) when earlier words were joined to this transcript: the turn's whole text. */
      turnText?: string;
    }
  | {
      type: 'voice_audio';
      turnId: string | null;
      /** The sentence these frames speak. */
      text: string;
      sampleRate: number;
      encoding: 'pcm_s16le';
      frameBytes: number;
      /** Binary frames that follow. */
      frames: number;
    }
  | { type: 'voice_audio_end'; turnId: string | null }
  | {
      type: 'voice_barge_in';
      turnId: string | null;
      spoken: string;
      atMs: number;
      cancelled: boolean;
      /** The user went on with their sentence before the answer could be heard: it is re-asked with the whole utterance. */
      continued?: true;
    }
  /**
   * The user spoke over the answer (`bargeInMinSpeechMs` of speech, or a first word): its audio
   * paused now; the client drops what it buffered. Then `voice_barge_in` (words: a real
   * interruption) or `voice_resumed` (no words: a cough, a noise; the answer plays on from here).
   */
  | { type: 'voice_paused'; turnId: string | null; atMs: number }
  | { type: 'voice_resumed'; turnId: string | null; atMs: number }
  /** A turn's audio stopped because the turn was cancelled (queued sentences dropped). */
  | { type: 'voice_audio_stopped'; turnId: string; reason: 'cancelled'; spoken: string };
