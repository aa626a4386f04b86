/**
 * Reads a spoken answer to a confirmation request: "yes" / "sure, go ahead" approve, "no" /
 * "cancel that" reject, "change the time to ten" / "make it Friday at 3pm" approve with a new
 * time, "change the text to ..." approve with new text. Anything else is not an answer
 * (`null`): the request keeps waiting and the user is asked again.
 */
export type VoiceAnswer =
  { confirmed: true; edit?: { text?: string; at?: string } } | { confirmed: false; reason?: string } | null;

const YES =
  /^(yes|yeah|yep|yup|sure|ok|okay|confirm(ed)?|approve(d)?|go ahead|do it|sounds good|correct|right|please do|that's right|of course)\b/;
const NO = /^(no|nope|nah|don't|do not|cancel( that| it)?|reject|stop|never ?mind|not now|wait)\b/;

const NUMBERS: Record<string, number> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  noon: 12,
  midnight: 0,
};
const MINUTES: Record<string, number> = {
  fifteen: 15,
  thirty: 30,
  'forty five': 45,
  'forty-five': 45,
  oclock: 0,
  "o'clock": 0,
};

/** "ten" → "10:00", "ten thirty pm" → "10:30 pm", "nine o'clock" → "9:00"; other words pass unchanged. */
export function spokenTime(words: string): string {
  const m =
    /^(?:at\s+)?(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon|midnight)(?:\s+(fifteen|thirty|forty[- ]five|o'?clock))?(?:\s+([ap]\.?m\.?))?$/.exec(
      words,
    );
  if (!m) return words;
  const hour = NUMBERS[m[1]!]!;
  const minute = m[2] ? (MINUTES[m[2].replace("'", '').replace('-', ' ')] ?? 0) : 0;
  const half = m[3] ? ` ${m[3].replace(/\./g, '')}` : '';
  return `${hour}:${String(minute).padStart(2, '0')}${half}`;
}

export function parseVoiceAnswer(transcript: string): VoiceAnswer {
  const said = transcript
    .toLowerCase()
    .replace(/[.,!?;]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (!said) return null;
  const text = /^(?:change|set|make)\s+the\s+(?:text|post|wording)\s+to\s+(.+)$/.exec(said);
  if (text) {
    // The text as spoken, from the original transcript (its case and punctuation).
    const original = /\bto\s+(.+)$/i.exec(transcript.trim());
    return { confirmed: true, edit: { text: (original?.[1] ?? text[1]!).trim() } };
  }
  const time =
    /^(?:(?:yes|ok|okay)\s+)?(?:but\s+)?(?:change|move|set|make)\s+(?:the\s+time\s+|it\s+)?(?:to|at|for)\s+(.+)$/.exec(
      said,
    );
  if (time) return { confirmed: true, edit: { at: spokenTime(time[1]!.trim()) } };
  if (NO.test(said)) return { confirmed: false, reason: transcript.trim() };
  if (YES.test(said)) return { confirmed: true };
  return null;
}
