/**
 * Herald's configuration (`Config['voice']`, and the model providers' keys and URLs) as the
 * voice engines' options. OpenAI-compatible engines use `OPENAI_API_KEY`/`OPENAI_BASE_URL`
 * unless `VOICE_STT_URL`/`VOICE_TTS_URL` say otherwise; Groq uses `GROQ_API_KEY`/`GROQ_BASE_URL`.
 */
import { DEFAULTS, type Config } from '../core/index.js';
import type { VoiceOptions } from './session.js';
import type { SttConfig } from './stt/index.js';
import type { TtsConfig } from './tts/index.js';

/**
 * The default pause after which a speculative turn starts (Pipecat and LiveKit start theirs at
 * about 0.2 s); `VOICE_SPECULATIVE_PAUSE_MS` sets it.
 */
export const SPECULATIVE_PAUSE_MS: number = DEFAULTS.voiceSpeculativePauseMs;

export interface VoiceConfig {
  stt: SttConfig;
  tts: TtsConfig;
  options: Partial<VoiceOptions>;
}

export function voiceConfigOf(config: Config): VoiceConfig {
  const v = config.voice;
  const { openai, groq } = config.models;
  const stt = v.stt;
  return {
    stt: {
      engine: stt,
      url:
        stt === 'groq'
          ? (v.sttUrl ?? groq?.baseUrl)
          : stt === 'openai' || stt === 'openai-realtime'
            ? (v.sttUrl ?? openai?.baseUrl)
            : v.sttUrl,
      apiKey: stt === 'groq' ? groq?.apiKey : openai?.apiKey,
      model:
        v.sttModel ??
        (stt === 'groq'
          ? DEFAULTS.voiceSttGroqModel
          : stt === 'openai-realtime'
            ? DEFAULTS.voiceSttRealtimeModel
            : DEFAULTS.voiceSttModel),
      timeoutMs: v.sttTimeoutMs,
      whisperBin: v.whisperBin,
      whisperModel: v.whisperModel,
    },
    tts: {
      engine: v.tts,
      baseUrl: v.ttsUrl ?? openai?.baseUrl,
      apiKey: openai?.apiKey,
      model: v.ttsModel,
      voice: v.ttsVoice ?? (v.tts === 'openai' ? 'alloy' : 'en-us'),
      timeoutMs: v.sttTimeoutMs,
    },
    options: {
      sttTimeoutMs: v.sttTimeoutMs,
      partialIntervalMs: v.partialIntervalMs,
      completeSilenceMs: v.completeSilenceMs,
      incompleteSilenceMs: v.incompleteSilenceMs,
      maxEndSilenceMs: v.maxEndSilenceMs,
      bargeInMinSpeechMs: v.bargeInMinSpeechMs,
      detector: {
        positiveThreshold: v.vadPositive,
        negativeThreshold: v.vadNegative,
        preSpeechMs: v.preSpeechMs,
        endSilenceMs: v.endSilenceMs,
        maxUtteranceMs: v.maxUtteranceMs,
        pauseMs: v.speculativePauseMs,
      },
    },
  };
}
