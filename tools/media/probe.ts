/**
 * Probing an uploaded video: duration, picture size, codecs, rotation and frame rate, which
 * each platform's rules are checked against at schedule time. MP4 and QuickTime are read in
 * process (`iso-bmff.ts`, which also blanks their location metadata); WebM needs `ffprobe`
 * (ffmpeg), run when it is on the PATH (or at `ffprobePath`). Without it a WebM is still
 * stored, and its record says what could not be read and what to install.
 */
import { spawn } from 'node:child_process';
import type { schema } from '../../core/index.js';
import type { MediaFormat } from './formats.js';
import { inspectAndScrubIsoBmff } from './iso-bmff.js';

export interface ProbedVideo {
  width: number | null;
  height: number | null;
  durationMs: number | null;
  probe: schema.MediaProbe;
  /** Metadata boxes blanked in place (the stored bytes differ from the upload's). */
  blanked: number;
}

/** Longest wait for ffprobe on one file. */
const FFPROBE_TIMEOUT_MS = 30_000;

export async function probeVideo(
  file: string,
  format: MediaFormat,
  opts: { ffprobePath?: string | null | undefined } = {},
): Promise<ProbedVideo> {
  if (format.mimeType !== 'video/webm') {
    const f = await inspectAndScrubIsoBmff(file);
    const missing = [
      ...(f.durationMs === null ? ['duration'] : []),
      ...(f.width === null ? ['picture size'] : []),
      ...(f.videoCodec === null ? ['video codec'] : []),
    ];
    return {
      width: f.width,
      height: f.height,
      durationMs: f.durationMs,
      blanked: f.blanked,
      probe: {
        prober: 'iso-bmff',
        videoCodec: f.videoCodec,
        audioCodec: f.audioCodec,
        rotation: f.rotation,
        frameRate: f.frameRate,
        ...(missing.length ? { missing } : {}),
      },
    };
  }
  const ffprobe = opts.ffprobePath === undefined ? 'ffprobe' : opts.ffprobePath;
  const read = ffprobe ? await runFfprobe(ffprobe, file) : null;
  if (!read) {
    return {
      width: null,
      height: null,
      durationMs: null,
      blanked: 0,
      probe: {
        prober: 'none',
        videoCodec: null,
        audioCodec: null,
        rotation: 0,
        frameRate: null,
        missing: [
          `duration, picture size and codecs: Herald reads WebM with ffprobe, which is not installed (install ffmpeg, or set FFPROBE_PATH)`,
        ],
      },
    };
  }
  return read;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number }>;
}

/** ffprobe's JSON for the file, or null when ffprobe is not there (ENOENT). */
async function runFfprobe(command: string, file: string): Promise<ProbedVideo | null> {
  const out = await new Promise<string | null>((resolve, reject) => {
    const child = spawn(command, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: FFPROBE_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-500)));
    child.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve(null) : reject(err)));
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`ffprobe exited ${code}: ${stderr.trim()}`)),
    );
  });
  if (out === null) return null;
  const json = JSON.parse(out) as { streams?: FfprobeStream[]; format?: { duration?: string } };
  const video = json.streams?.find((s) => s.codec_type === 'video');
  const audio = json.streams?.find((s) => s.codec_type === 'audio');
  const seconds = Number(json.format?.duration);
  const [num, den] = (video?.avg_frame_rate ?? '').split('/').map(Number);
  const turn = Number(
    video?.tags?.rotate ?? video?.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0,
  );
  const rotation = (((Math.round(turn / 90) * 90) % 360) + 360) % 360;
  const sideways = rotation === 90 || rotation === 270;
  const w = video?.width ?? null;
  const h = video?.height ?? null;
  return {
    width: sideways ? h : w,
    height: sideways ? w : h,
    durationMs: Number.isFinite(seconds) ? Math.round(seconds * 1000) : null,
    blanked: 0,
    probe: {
      prober: 'ffprobe',
      videoCodec: video?.codec_name ?? null,
      audioCodec: audio?.codec_name ?? null,
      rotation,
      frameRate: num && den ? Math.round((num / den) * 1000) / 1000 : null,
    },
  };
}
