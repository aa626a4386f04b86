/**
 * What the video platforms (TikTok, YouTube, Pinterest) share: their video rules as data,
 * checked at schedule time against what probing found (`MediaDescriptor.video`). Their uploads
 * stream the stored file into the request (`stream-upload.ts`), never holding it.
 */
import type { MediaDescriptor, ValidationIssue } from './contract.js';

export interface VideoRules {
  minDurationMs?: number;
  maxDurationMs?: number;
  /** Shortest side, in pixels, after rotation. */
  minSide?: number;
  /** Longest side, in pixels. */
  maxSide?: number;
  /** Codec families accepted (`h264`, `hevc`, `vp8`, `vp9`, `av1`, `mpeg4`). */
  codecs?: readonly string[];
  minFrameRate?: number;
  maxFrameRate?: number;
}

/** A codec as a family name, from an ISO-BMFF sample entry (`avc1`) or ffprobe's name (`h264`). */
export function codecFamily(codec: string): string {
  const c = codec.toLowerCase();
  if (c === 'avc1' || c === 'avc3' || c === 'h264') return 'h264';
  if (c === 'hvc1' || c === 'hev1' || c === 'hevc' || c === 'h265') return 'hevc';
  if (c === 'vp08' || c === 'vp8') return 'vp8';
  if (c === 'vp09' || c === 'vp9') return 'vp9';
  if (c === 'av01' || c === 'av1') return 'av1';
  if (c === 'mp4v' || c === 'mpeg4') return 'mpeg4';
  return c;
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

/** Every way a video breaks the rules; facts probing could not read are not held against it. */
export function videoIssues(
  name: string,
  rules: VideoRules,
  media: MediaDescriptor,
  part: number,
  label: string,
): ValidationIssue[] {
  const v = media.video;
  if (!media.mimeType.startsWith('video/') || !v) return [];
  const out: ValidationIssue[] = [];
  const issue = (message: string, limit?: number, actual?: number) =>
    out.push({
      code: 'video_rules',
      part,
      message,
      ...(limit === undefined ? {} : { limit }),
      ...(actual === undefined ? {} : { actual }),
    });
  if (v.durationMs !== null) {
    if (rules.maxDurationMs !== undefined && v.durationMs > rules.maxDurationMs)
      issue(
        `${name} takes videos up to ${seconds(rules.maxDurationMs)}; ${label} lasts ${seconds(v.durationMs)}.`,
        rules.maxDurationMs,
        v.durationMs,
      );
    if (rules.minDurationMs !== undefined && v.durationMs < rules.minDurationMs)
      issue(
        `${name} takes videos of at least ${seconds(rules.minDurationMs)}; ${label} lasts ${seconds(v.durationMs)}.`,
        rules.minDurationMs,
        v.durationMs,
      );
  }
  if (v.width !== null && v.height !== null) {
    const short = Math.min(v.width, v.height);
    const long = Math.max(v.width, v.height);
    if (rules.minSide !== undefined && short < rules.minSide)
      issue(
        `${name} needs at least ${rules.minSide} pixels on each side; ${label} is ${v.width}x${v.height}.`,
        rules.minSide,
        short,
      );
    if (rules.maxSide !== undefined && long > rules.maxSide)
      issue(
        `${name} takes at most ${rules.maxSide} pixels on a side; ${label} is ${v.width}x${v.height}.`,
        rules.maxSide,
        long,
      );
  }
  if (v.videoCodec && rules.codecs && !rules.codecs.includes(codecFamily(v.videoCodec)))
    issue(`${name} takes ${rules.codecs.join(', ')} video; ${label} is ${codecFamily(v.videoCodec)}.`);
  if (v.frameRate !== null) {
    if (rules.minFrameRate !== undefined && v.frameRate < rules.minFrameRate)
      issue(
        `${name} needs at least ${rules.minFrameRate} frames per second; ${label} has ${v.frameRate}.`,
        rules.minFrameRate,
        v.frameRate,
      );
    if (rules.maxFrameRate !== undefined && v.frameRate > rules.maxFrameRate)
      issue(
        `${name} takes at most ${rules.maxFrameRate} frames per second; ${label} has ${v.frameRate}.`,
        rules.maxFrameRate,
        v.frameRate,
      );
  }
  return out;
}

/** The `media_required` issue for a post that has no media where the platform needs some. */
export const mediaRequired = (name: string, what: string): ValidationIssue => ({
  code: 'media_required',
  part: 0,
  message: `${name} posts need ${what}; this post has none.`,
});
