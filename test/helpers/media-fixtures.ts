/**
 * Media for tests, made on the spot: real images encoded by sharp (one a phone photo with
 * EXIF orientation, camera make and GPS position), and MP4/QuickTime/WebM files built box by
 * box so their size, duration, rotation and location metadata are known exactly.
 */
import sharp from 'sharp';

/** Where the test photo and video "were taken" (Eiffel Tower), as an ISO 6709 string. */
export const LOCATION_ISO6709 = '+48.8584+002.2945/';

/** A solid image in one colour. */
export function solidPng(width: number, height: number, colour = '#3366cc'): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } })
    .png()
    .toBuffer();
}

/**
 * A 40x20 JPEG as a phone stores a portrait shot: pixels sideways (left half red, right half
 * blue) with EXIF orientation 6 ("turn 90° clockwise to show"), a camera make and GPS.
 */
export async function sidewaysPhoto(): Promise<Buffer> {
  const blue = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#0000ff' } })
    .png()
    .toBuffer();
  return sharp({ create: { width: 40, height: 20, channels: 3, background: '#ff0000' } })
    .composite([{ input: blue, left: 20, top: 0 }])
    .jpeg({ quality: 95 })
    .withMetadata({ orientation: 6 })
    .withExif({
      IFD0: { Make: 'HeraldTestCam', Model: 'Serial 0042' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 3024/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 17/1 4212/100',
      },
    })
    .toBuffer();
}

/** A two-frame animated GIF (red 100 ms, green 200 ms), looping forever. */
export async function animatedGif(size = 10): Promise<Buffer> {
  const frame = (colour: string) =>
    sharp({ create: { width: size, height: size, channels: 3, background: colour } })
      .png()
      .toBuffer();
  return sharp([await frame('#ff0000'), await frame('#00ff00')], { join: { animated: true } })
    .gif({ delay: [100, 200], loop: 0 })
    .toBuffer();
}

function box(type: string, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeInt32BE(v | 0, i * 4));
  return b;
}

/**
 * An ISO base media file: `ftyp`, a `moov` with `mvhd` (duration), one video `trak` (`tkhd`
 * with size and rotation matrix, `mdia/hdlr` = vide) and a `udta` holding the location, then
 * an `mdat` of filler. Enough structure for any ISO-BMFF reader; not playable.
 */
export function isoBmffVideo(
  opts: {
    brand?: 'isom' | 'qt  ';
    width?: number;
    height?: number;
    durationMs?: number;
    rotate90?: boolean;
    /** With a codec, the track gets `mdhd` and `minf/stbl` (`stsd` sample entry, `stts` timing). */
    codec?: string;
    /** Frames per second written in `stts` (with `codec`). Default 30. */
    fps?: number;
    /** A sound track with this sample entry (`mp4a`). */
    audioCodec?: string;
    /** Bytes of filler in `mdat`. Default 2048. */
    mdatBytes?: number;
  } = {},
): Buffer {
  const { brand = 'isom', width = 1920, height = 1080, durationMs = 4500, rotate90 = false } = opts;
  const timescale = 1000;
  const ftyp = box('ftyp', Buffer.from(brand, 'latin1'), u32(0x200), Buffer.from(`${brand}mp41`, 'latin1'));
  // version 0: flags, creation, modification, timescale, duration, rate, volume+reserved, reserved x2, matrix, pre_defined x6, next track
  const matrix = rotate90
    ? [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000]
    : [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];
  const mvhd = box(
    'mvhd',
    u32(0, 0, 0, timescale, durationMs, 0x10000),
    u32(0x01000000, 0, 0),
    u32(...matrix),
    u32(0, 0, 0, 0, 0, 0, 2),
  );
  const tkhd = box(
    'tkhd',
    u32(0x3, 0, 0, 1, 0, durationMs), // version/flags, creation, modification, track id, reserved, duration
    u32(0, 0, 0, 0), // reserved x2, layer + alternate group, volume + reserved
    u32(...matrix),
    u32(width * 0x10000, height * 0x10000),
  );
  const hdlr = box(
    'hdlr',
    u32(0, 0),
    Buffer.from('vide', 'latin1'),
    u32(0, 0, 0),
    Buffer.from('VideoHandler\0', 'latin1'),
  );
  const sampleTable = (entry: string, frames: number, delta: number) => {
    const stsd = box('stsd', u32(0, 1), box(entry, Buffer.alloc(78)));
    const stts = box('stts', u32(0, 1, frames, delta));
    return box('minf', box('stbl', stsd, stts));
  };
  const mdhd = box('mdhd', u32(0, 0, 0, timescale, durationMs, 0));
  const fps = opts.fps ?? 30;
  // The video track's own clock: 100 ticks a frame.
  const videoScale = Math.round(fps * 100);
  const frames = Math.max(1, Math.round((durationMs / 1000) * fps));
  const videoMdhd = box('mdhd', u32(0, 0, 0, videoScale, frames * 100, 0));
  const trak = opts.codec
    ? box('trak', tkhd, box('mdia', videoMdhd, hdlr, sampleTable(opts.codec, frames, 100)))
    : box('trak', tkhd, box('mdia', hdlr));
  const soundTrak = opts.audioCodec
    ? box(
        'trak',
        box(
          'tkhd',
          u32(0x3, 0, 0, 2, 0, durationMs),
          u32(0, 0, 0, 0x01000000),
          u32(0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000),
          u32(0, 0),
        ),
        box(
          'mdia',
          mdhd,
          box('hdlr', u32(0, 0), Buffer.from('soun', 'latin1'), u32(0, 0, 0), Buffer.from('SoundHandler\0', 'latin1')),
          sampleTable(opts.audioCodec, 1, durationMs),
        ),
      )
    : Buffer.alloc(0);
  const location = Buffer.from(LOCATION_ISO6709, 'latin1');
  const xyzHead = Buffer.alloc(4);
  xyzHead.writeUInt16BE(location.length, 0);
  xyzHead.writeUInt16BE(0x15c7, 2); // language code, as QuickTime writes it
  const udta = box('udta', box('\u00a9xyz', xyzHead, location));
  const moov = box('moov', mvhd, trak, soundTrak, udta);
  const mdat = box('mdat', Buffer.alloc(opts.mdatBytes ?? 2048, 0x42));
  return Buffer.concat([ftyp, moov, mdat]);
}

/** The EBML header of a WebM file followed by an empty segment: sniffable as video/webm. */
export function webmHeader(): Buffer {
  const docType = Buffer.from('webm', 'latin1');
  const ebmlBody = Buffer.concat([
    Buffer.from([0x42, 0x86, 0x81, 0x01]), // EBMLVersion 1
    Buffer.from([0x42, 0xf7, 0x81, 0x01]), // EBMLReadVersion 1
    Buffer.from([0x42, 0xf2, 0x81, 0x04]), // EBMLMaxIDLength 4
    Buffer.from([0x42, 0xf3, 0x81, 0x08]), // EBMLMaxSizeLength 8
    Buffer.from([0x42, 0x82, 0x80 | docType.length]),
    docType, // DocType "webm"
    Buffer.from([0x42, 0x87, 0x81, 0x02]), // DocTypeVersion 2
    Buffer.from([0x42, 0x85, 0x81, 0x02]), // DocTypeReadVersion 2
  ]);
  const ebml = Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x80 | ebmlBody.length]), ebmlBody]);
  const segment = Buffer.from([0x18, 0x53, 0x80, 0x67, 0x80]); // Segment, size 0
  return Buffer.concat([ebml, segment, Buffer.alloc(512, 0)]);
}

/**
 * A large MP4 written to `file` without holding it in memory: the boxes of `isoBmffVideo`
 * (H.264, 30 fps, AAC) and an `mdat` of filler up to `totalBytes`, streamed in 4 MB writes.
 */
export async function writeLargeMp4(
  file: string,
  totalBytes: number,
  opts: { width?: number; height?: number; durationMs?: number } = {},
): Promise<void> {
  const { open } = await import('node:fs/promises');
  const head = isoBmffVideo({ ...opts, codec: 'avc1', audioCodec: 'mp4a', mdatBytes: 0 });
  // The empty mdat at the end of `head` (8 bytes) is rewritten with the real size.
  const boxes = head.subarray(0, head.length - 8);
  const mdatSize = totalBytes - boxes.length;
  const mdatHead = Buffer.alloc(8);
  mdatHead.writeUInt32BE(mdatSize, 0);
  mdatHead.write('mdat', 4, 'latin1');
  const handle = await open(file, 'w', 0o600);
  try {
    await handle.write(Buffer.concat([boxes, mdatHead]));
    const block = Buffer.alloc(4 << 20, 0x42);
    for (let left = mdatSize - 8; left > 0; left -= block.length)
      await handle.write(block, 0, Math.min(left, block.length));
  } finally {
    await handle.close();
  }
}
