/**
 * Video probing: MP4 and QuickTime read in process (size, duration, codec, sound, rotation,
 * frame rate, location boxes blanked); WebM read by ffprobe where it is installed, and where
 * it is not, stored with a record that says what could not be read and what to install.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeVideo } from '../../tools/media/probe.js';
import { isoBmffVideo, webmHeader } from '../helpers/media-fixtures.js';

const MP4 = { mimeType: 'video/mp4', kind: 'video', extension: 'mp4' } as const;
const WEBM = { mimeType: 'video/webm', kind: 'video', extension: 'webm' } as const;

describe('probing videos', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-probe-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, bytes: Buffer) => {
    const f = path.join(dir, name);
    await writeFile(f, bytes);
    return f;
  };

  it('reads codec, sound, frame rate, size and duration of an MP4 in process', async () => {
    const f = await file(
      'a.mp4',
      isoBmffVideo({ width: 1080, height: 1920, durationMs: 12_000, codec: 'avc1', fps: 30, audioCodec: 'mp4a' }),
    );
    const p = await probeVideo(f, MP4);
    expect(p).toMatchObject({ width: 1080, height: 1920, durationMs: 12_000 });
    expect(p.probe).toEqual({ prober: 'iso-bmff', videoCodec: 'avc1', audioCodec: 'mp4a', rotation: 0, frameRate: 30 });
    expect(p.blanked).toBeGreaterThan(0); // the location box
  });

  it('reports a portrait phone recording as turned 90 degrees, with its display size', async () => {
    const f = await file(
      'b.mov',
      isoBmffVideo({ brand: 'qt  ', width: 1920, height: 1080, rotate90: true, codec: 'hvc1' }),
    );
    const p = await probeVideo(f, { mimeType: 'video/quicktime', kind: 'video', extension: 'mov' });
    expect(p).toMatchObject({ width: 1080, height: 1920 });
    expect(p.probe).toMatchObject({ videoCodec: 'hvc1', audioCodec: null, rotation: 90 });
  });

  it('says what it could not read when the file lacks a sample table', async () => {
    const f = await file('c.mp4', isoBmffVideo());
    const p = await probeVideo(f, MP4);
    expect(p.probe.missing).toEqual(['video codec']);
  });

  it('without ffprobe, a WebM is described as unread, naming what to install', async () => {
    const f = await file('d.webm', webmHeader());
    const p = await probeVideo(f, WEBM, { ffprobePath: path.join(dir, 'no-such-ffprobe') });
    expect(p).toMatchObject({ width: null, height: null, durationMs: null });
    expect(p.probe.prober).toBe('none');
    expect(p.probe.missing?.[0]).toMatch(/ffprobe.*install ffmpeg/);
  });

  it('runs ffprobe for a WebM and reads its JSON (a stand-in ffprobe on the PATH)', async () => {
    // A script answering as ffprobe does for a 720x1280 VP9 clip turned 90 degrees.
    const fake = path.join(dir, 'ffprobe');
    const answer = {
      streams: [
        {
          codec_type: 'video',
          codec_name: 'vp9',
          width: 1280,
          height: 720,
          avg_frame_rate: '30000/1001',
          side_data_list: [{ rotation: -90 }],
        },
        { codec_type: 'audio', codec_name: 'opus' },
      ],
      format: { duration: '7.250000' },
    };
    await writeFile(fake, `#!/bin/sh\ncat <<'JSON'\n${JSON.stringify(answer)}\nJSON\n`, { mode: 0o755 });
    const f = await file('e.webm', webmHeader());
    const p = await probeVideo(f, WEBM, { ffprobePath: fake });
    expect(p).toMatchObject({ width: 720, height: 1280, durationMs: 7250 });
    expect(p.probe).toEqual({
      prober: 'ffprobe',
      videoCodec: 'vp9',
      audioCodec: 'opus',
      rotation: 270,
      frameRate: 29.97,
    });
  });
});
