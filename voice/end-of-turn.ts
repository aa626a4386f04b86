/**
 * Whether a transcript reads like a finished turn, from its words alone (no turn-completion
 * model ships in a package Herald can use from Node): final punctuation says complete, a
 * trailing comma, dash or ellipsis, or a last word that cannot end an English sentence ("the",
 * "about", "and", "to"...) says the speaker is not done, even when the engine put a period
 * after it. Anything else is unknown. The session waits a short silence for a complete turn,
 * the long upper bound for an unfinished one, and the usual end silence otherwise.
 */

export type Completeness = 'complete' | 'incomplete' | 'unknown';

/** Words after which an English sentence is not over. */
const OPEN_ENDED = new Set(
  (
    'a an the to of for about with and or but nor so because since as if than that which whose ' +
    'in on at from by into onto over under between after before during without within through ' +
    'my your our their his her its every each very really ' +
    "like um uh er erm hmm plus either neither let's"
  ).split(' '),
);

export function turnCompleteness(transcript: string): Completeness {
  const t = transcript.trim();
  if (!t) return 'unknown';
  if (/(?:,|;|:|-|–|—|\.\.\.|…)["')\]]*$/.test(t)) return 'incomplete';
  if (/[?!]["')\]]*$/.test(t)) return 'complete';
  const words = t.toLowerCase().match(/[a-z']+/g);
  const last = words?.at(-1)?.replace(/^'+|'+$/g, '');
  if (last && OPEN_ENDED.has(last)) return 'incomplete';
  if (/[.!?]["')\]]*$/.test(t)) return 'complete';
  return 'unknown';
}
