/**
 * Public surface of `voice/`: audio framing, turn detection with Silero VAD, the
 * speech-to-text and text-to-speech engines, and the voice session pipeline. It hands text to
 * a host (the WebSocket) and gets turn events back; it knows nothing of the agent.
 */
import { loadSileroModel } from './vad.js';
import type { VoiceConfig } from './config.js';
import { VOICE_DEFAULTS, type VoiceEngines } from './session.js';
import { createSpeechToText } from './stt/index.js';
import { createTextToSpeech } from './tts/index.js';

/**
 * The engines and the VAD model for every voice session of the process; null when no
 * speech-to-text engine is configured. Engines are not checked here (a missing model is
 * reported to the client that starts a session, naming the fix), so Herald starts without them.
 */
export async function createVoiceEngines(config: VoiceConfig): Promise<VoiceEngines | null> {
  const stt = createSpeechToText(config.stt);
  if (!stt) return null;
  return {
    stt,
    tts: createTextToSpeech(config.tts),
    vad: await loadSileroModel(),
    options: { ...VOICE_DEFAULTS, detector: {}, ...config.options },
  };
}

export * from './audio.js';
export { decodeOggOpus, encodeOggOpus, OGG_OPUS_PCM_RATE, oggPackets, resamplePcm } from './ogg-opus.js';
export { SPECULATIVE_PAUSE_MS, voiceConfigOf, type VoiceConfig } from './config.js';
export { turnCompleteness, type Completeness } from './end-of-turn.js';
export { parseVoiceAnswer, spokenTime, type VoiceAnswer } from './confirm.js';
export { spokenClock, spokenConfirmation, spokenText } from './spoken.js';
export type { AudioFormat, VoiceEvent } from './events.js';
export {
  VOICE_DEFAULTS,
  VoiceSession,
  type TurnEventLike,
  type VoiceDecision,
  type VoiceEngines,
  type VoiceHost,
  type VoiceOptions,
} from './session.js';
export {
  createSpeechToText,
  GroqSpeechToText,
  isStreaming,
  OpenAiRealtimeSpeechToText,
  OpenAiSpeechToText,
  REALTIME_PCM_RATE,
  realtimeUrl,
  Upsampler,
  WhisperCliSpeechToText,
  WhisperServerSpeechToText,
  WHISPER_BUILD_HELP,
  WHISPER_MODEL_HELP,
  type SpeechSegment,
  type SpeechStream,
  type SpeechToText,
  type StreamingSpeechToText,
  type SttConfig,
  type SttEngineName,
  type TranscribeOptions,
} from './stt/index.js';
export {
  createTextToSpeech,
  EspeakTextToSpeech,
  OPENAI_PCM_RATE,
  OpenAiTextToSpeech,
  SentenceSplitter,
  type TextToSpeech,
  type TtsConfig,
  type TtsEngineName,
} from './tts/index.js';
export { TURN_DETECTOR_DEFAULTS, TurnDetector, type TurnDetectorOptions, type Utterance } from './turn-detector.js';
export { loadSileroModel, SileroStream, VAD_WINDOW_MS } from './vad.js';
