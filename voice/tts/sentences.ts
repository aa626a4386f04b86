/**
 * Cuts a reply that arrives token by token into sentences, so each can be spoken as soon as
 * it is complete instead of after the whole reply. A sentence ends at `.`, `!`, `?` or `…`
 * followed by a space, or at a line break; a run longer than `maxChars` is cut at its last
 * comma or space, so a long list does not hold the voice back.
 */
const END = /[.!?…]["')\]]*\s+|\n+/g;

export class SentenceSplitter {
  #buffer = '';

  constructor(private readonly maxChars = 240) {}

  /** Adds a piece of the reply; returns the sentences it completed. */
  push(text: string): string[] {
    this.#buffer += text;
    const out: string[] = [];
    let cut = 0;
    END.lastIndex = 0;
    for (let m = END.exec(this.#buffer); m; m = END.exec(this.#buffer)) {
      // "3.5", "e.g." mid-word: a period not followed by whitespace never matches.
      const sentence = this.#buffer.slice(cut, m.index + m[0].length).trim();
      if (sentence) out.push(sentence);
      cut = m.index + m[0].length;
    }
    this.#buffer = this.#buffer.slice(cut);
    while (this.#buffer.length > this.maxChars) {
      const head = this.#buffer.slice(0, this.maxChars);
      const at = Math.max(head.lastIndexOf(', '), head.lastIndexOf(' '));
      const end = at > 0 ? at + 1 : this.maxChars;
      const piece = this.#buffer.slice(0, end).trim();
      if (piece) out.push(piece);
      this.#buffer = this.#buffer.slice(end);
    }
    return out;
  }

  /** The rest, at the end of the reply. */
  flush(): string | null {
    const rest = this.#buffer.trim();
    this.#buffer = '';
    return rest || null;
  }
}
