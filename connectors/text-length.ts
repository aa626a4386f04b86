/** Text length as platforms count it, and the shared checks every connector's validate uses. */
import type { Capabilities, Draft, TextRule, ValidationIssue } from './contract.js';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export function countGraphemes(text: string): number {
  let n = 0;
  for (const _ of segmenter.segment(text)) n++;
  return n;
}

/** Length by a platform rule. `weighted` needs the platform's own counter, passed in. */
export function textLength(text: string, rule: TextRule, weighted?: (text: string) => number): number {
  switch (rule) {
    case 'graphemes':
      return countGraphemes(text);
    case 'chars':
      return [...text].length;
    case 'bytes':
      return Buffer.byteLength(text, 'utf8');
    case 'weighted':
      if (!weighted) throw new TypeError('weighted counting needs the platform counter');
      return weighted(text);
  }
}

const RULE_WORDS: Record<TextRule, string> = {
  graphemes: 'characters (graphemes)',
  chars: 'characters',
  bytes: 'bytes',
  weighted: 'weighted characters',
};

const platformName = (p: string) => p.charAt(0).toUpperCase() + p.slice(1);

/**
 * The checks every platform shares, driven by its capabilities: empty parts, text length,
 * thread support and length, media count, type, size and alt text.
 */
export function validateAgainstCapabilities(
  caps: Capabilities,
  draft: Draft,
  weighted?: (text: string) => number,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const name = platformName(caps.platform);
  if (draft.parts.length === 0) {
    return [{ code: 'empty', part: 0, message: 'There is nothing to publish.' }];
  }
  if (draft.parts.length > 1 && !caps.threads.supported) {
    issues.push({
      code: 'thread_unsupported',
      part: 1,
      message: `${name} does not support threads.`,
      limit: 1,
      actual: draft.parts.length,
    });
  } else if (draft.parts.length > caps.threads.maxParts) {
    issues.push({
      code: 'too_many_parts',
      part: caps.threads.maxParts,
      message: `${name} threads here are limited to ${caps.threads.maxParts} parts; this one has ${draft.parts.length}.`,
      limit: caps.threads.maxParts,
      actual: draft.parts.length,
    });
  }
  draft.parts.forEach((part, i) => {
    const where = draft.parts.length > 1 ? ` (part ${i + 1})` : '';
    if (part.text.trim() === '' && part.media.length === 0) {
      issues.push({ code: 'empty', part: i, message: `Part ${i + 1} has neither text nor media.` });
    }
    const length = textLength(part.text, caps.text.rule, weighted);
    if (length > caps.text.max) {
      issues.push({
        code: 'text_too_long',
        part: i,
        message: `${name} allows ${caps.text.max} ${RULE_WORDS[caps.text.rule]}; this text${where} has ${length}.`,
        limit: caps.text.max,
        actual: length,
      });
    }
    if (part.media.length > caps.media.maxCount) {
      issues.push({
        code: 'too_many_media',
        part: i,
        message: `${name} allows ${caps.media.maxCount} media per post; this post${where} has ${part.media.length}.`,
        limit: caps.media.maxCount,
        actual: part.media.length,
      });
    }
    part.media.forEach((m, j) => {
      if (!caps.media.mimeTypes.includes(m.mimeType)) {
        issues.push({
          code: 'media_type',
          part: i,
          message: `${name} does not accept ${m.mimeType} (media ${j + 1}${where}); it accepts ${caps.media.mimeTypes.join(', ')}.`,
        });
      }
      if (m.sizeBytes > caps.media.maxBytes) {
        issues.push({
          code: 'media_too_large',
          part: i,
          message: `${name} accepts files up to ${formatBytes(caps.media.maxBytes)}; media ${j + 1}${where} is ${formatBytes(m.sizeBytes)}.`,
          limit: caps.media.maxBytes,
          actual: m.sizeBytes,
        });
      }
      if (m.altText && caps.media.altTextMax !== null && countGraphemes(m.altText) > caps.media.altTextMax) {
        issues.push({
          code: 'alt_text_too_long',
          part: i,
          message: `${name} allows alt text up to ${caps.media.altTextMax} characters; media ${j + 1}${where} has ${countGraphemes(m.altText)}.`,
          limit: caps.media.altTextMax,
          actual: countGraphemes(m.altText),
        });
      }
    });
  });
  return issues;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(n % (1024 * 1024) === 0 ? 0 : 1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KB`;
  return `${n} bytes`;
}
