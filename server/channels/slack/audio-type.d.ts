/** `audio-type` (the format sniffing `@audio/decode` uses) ships no types. */
declare module 'audio-type' {
  /** The format name of `bytes` (`mp3`, `flac`, `wav`, `webm`, `m4a`, `oga`, `opus`, ...), or undefined. */
  export default function getType(bytes: Uint8Array): string | undefined;
}
