// What the origin serves: the product page and the product pictures (seed §4).
//
// Nothing here is checked in: the files are generated into a folder the first time they are
// needed and reused after that. The pictures are real PNGs, written by the small encoder below,
// so a learner can open them, and a cache moves real megabytes. Every byte is deterministic: the
// same drawing and the same seeded noise on every run, so the origin's ETags do not change
// between runs (see the note on zlib in encodePng for the one caveat).
//
// Read it top to bottom: the PNG encoder, the drawing, the product page, then ensureOriginContent.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { labDir } from '../net/paths.ts';
import { PICTURES, productPage } from '../shop-page.ts';

// ---------------------------------------------------------------------------------------------
// A PNG encoder (RFC 2083 / ISO 15948), just enough for 8-bit RGB: the signature, then chunks
// IHDR (size and format), IDAT (the zlib-compressed pixels), IEND. Each chunk is
// length · type · data · CRC-32 of type and data.

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// CRC-32 as PNG and zlib define it (reflected polynomial 0xEDB88320), one table lookup a byte.
// Node 20 has no zlib.crc32 (it arrived in Node 22), so here it is.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

type RGB = readonly [number, number, number];

/** An RGB picture in memory: 3 bytes a pixel, rows top to bottom. */
export class Picture {
  readonly rgb: Buffer;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rgb = Buffer.alloc(width * height * 3);
  }

  /**
   * Paint a rectangle (clipped to the picture), its corners rounded by `radius`; a square with
   * radius = half its side is a circle. `color` may be a function of the pixel, for gradients.
   */
  fill(x0: number, y0: number, w: number, h: number, color: RGB | ((x: number, y: number) => RGB), radius = 0): void {
    for (let y = Math.max(0, Math.floor(y0)); y < Math.min(this.height, Math.ceil(y0 + h)); y++) {
      for (let x = Math.max(0, Math.floor(x0)); x < Math.min(this.width, Math.ceil(x0 + w)); x++) {
        if (radius > 0) {
          // The nearest point of the rectangle shrunk by `radius`: farther than radius = outside a corner.
          const cx = Math.min(Math.max(x + 0.5, x0 + radius), x0 + w - radius);
          const cy = Math.min(Math.max(y + 0.5, y0 + radius), y0 + h - radius);
          if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 > radius ** 2) continue;
        }
        const [r, g, b] = typeof color === 'function' ? color(x, y) : color;
        this.rgb.set([r, g, b], (y * this.width + x) * 3);
      }
    }
  }
}

export function encodePng(pic: Picture): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(pic.width, 0);
  ihdr.writeUInt32BE(pic.height, 4);
  ihdr[8] = 8; // bits per sample
  ihdr[9] = 2; // colour type 2: RGB, no palette, no alpha
  ihdr[10] = 0; // compression method 0: zlib deflate (the only one)
  ihdr[11] = 0; // filter method 0 (the only one)
  ihdr[12] = 0; // no interlacing

  // Each row starts with its filter type. 0 (None) everywhere: the simplest, and a decoder
  // checking our work can read the bytes straight off.
  const rowBytes = pic.width * 3;
  const raw = Buffer.alloc(pic.height * (1 + rowBytes));
  for (let y = 0; y < pic.height; y++) {
    raw[y * (1 + rowBytes)] = 0;
    pic.rgb.copy(raw, y * (1 + rowBytes) + 1, y * rowBytes, (y + 1) * rowBytes);
  }
  // A fixed level, so the output does not depend on zlib's default. The pixels are the same
  // everywhere; the compressed bytes are those of the zlib bundled with Node (the same build
  // across Node 20 and 22), which is why the origin's ETag is a hash of the file.
  const idat = zlib.deflateSync(raw, { level: 9 });

  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

// ---------------------------------------------------------------------------------------------
// The drawing: a phone on a studio backdrop, scaled to any size.

const BACKDROP_TOP: RGB = [244, 239, 230];
const BACKDROP_BOTTOM: RGB = [206, 194, 176];
const BODY: RGB = [38, 40, 46];
const SCREEN_TOP: RGB = [40, 110, 200];
const SCREEN_BOTTOM: RGB = [120, 60, 170];
const SLOT: RGB = [70, 72, 80];
const BUTTON: RGB = [58, 60, 68];
const ICONS: RGB[] = [
  [250, 190, 60],
  [90, 200, 120],
  [240, 100, 90],
  [250, 250, 250],
  [80, 190, 230],
  [255, 140, 60],
];

function mix(a: RGB, b: RGB, t: number): RGB {
  const k = Math.min(1, Math.max(0, t));
  return [Math.round(a[0] + (b[0] - a[0]) * k), Math.round(a[1] + (b[1] - a[1]) * k), Math.round(a[2] + (b[2] - a[2]) * k)];
}

function drawPhone(pic: Picture): void {
  const { width: W, height: H } = pic;
  const backdrop = (y: number) => mix(BACKDROP_TOP, BACKDROP_BOTTOM, y / H);
  pic.fill(0, 0, W, H, (_x, y) => backdrop(y));

  // The phone stands 80% of the picture's height, twice as tall as it is wide, centred.
  const ph = Math.min(H, W * 1.6) * 0.8;
  const pw = ph / 2;
  const px = (W - pw) / 2;
  const py = (H - ph) / 2;
  const corner = pw * 0.12;

  // A soft shadow down and to the right: the backdrop, darkened.
  pic.fill(px + pw * 0.06, py + ph * 0.03, pw, ph, (_x, y) => mix(backdrop(y), [0, 0, 0], 0.25), corner);
  pic.fill(px, py, pw, ph, BODY, corner);

  // The screen, with a 3×4 grid of app icons.
  const sx = px + pw * 0.07;
  const sy = py + ph * 0.1;
  const sw = pw * 0.86;
  const sh = ph * 0.78;
  pic.fill(sx, sy, sw, sh, (_x, y) => mix(SCREEN_TOP, SCREEN_BOTTOM, (y - sy) / sh), pw * 0.02);
  const icon = sw * 0.2;
  const gap = (sw - 3 * icon) / 4;
  for (let row = 0; row < 4; row++) {
    for (let col = 0; col < 3; col++) {
      const color = ICONS[(row * 3 + col) % ICONS.length]!;
      pic.fill(sx + gap + col * (icon + gap), sy + gap + row * (icon + gap), icon, icon, color, icon * 0.22);
    }
  }

  // The speaker slot above the screen, the home button below it.
  pic.fill(px + pw * 0.35, py + ph * 0.04, pw * 0.3, ph * 0.016, SLOT, ph * 0.008);
  const button = ph * 0.065;
  pic.fill(px + (pw - button) / 2, py + ph * 0.905, button, button, BUTTON, button / 2);
}

/** A seeded pseudo-random generator (xorshift32): the same numbers on every machine. */
function xorshift32(seed: number): () => number {
  let s = (seed | 0) || 1; // xorshift never leaves 0, so never start there
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/**
 * Film grain: every channel of every pixel moved by up to ±amplitude/2. It is what makes the
 * full-size picture big: noise does not compress, so the file stays over a megabyte, the size
 * at which a CDN's handling of large objects (ranges, slow transfers) starts to matter.
 */
function addGrain(pic: Picture, amplitude: number, seed: number): void {
  const random = xorshift32(seed);
  for (let i = 0; i < pic.rgb.length; i++) {
    const v = pic.rgb[i]! + Math.round((random() - 0.5) * amplitude);
    pic.rgb[i] = Math.min(255, Math.max(0, v));
  }
}

/** The product pictures: a thumbnail for lists, the picture on the page, the full-size photo. */
const GRAIN: Record<(typeof PICTURES)[number]['name'], number> = { 'phone-thumb.png': 0, 'phone.png': 0, 'phone-large.png': 48 };
const IMAGES = PICTURES.map((p) => ({ ...p, grain: GRAIN[p.name] }));

function renderImage(spec: (typeof IMAGES)[number]): Buffer {
  const pic = new Picture(spec.width, spec.height);
  drawPhone(pic);
  if (spec.grain > 0) addGrain(pic, spec.grain, 0x5eed0068);
  return encodePng(pic);
}

// ---------------------------------------------------------------------------------------------
// The product page: the seed's course, at the seed's price (the same page as the shop's).

function renderProductPage(): Buffer {
  // The shop's own page, with the pictures from this same origin and no order button: the CDN
  // serves files, the shop takes orders (servers/shop-page.ts).
  return Buffer.from(productPage('', false).html, 'utf8');
}

// ---------------------------------------------------------------------------------------------
// The folder.

export interface OriginFile {
  /** The URL path it is served at, such as /images/phone.png. */
  path: string;
  /** Where it is on disk. */
  file: string;
  bytes: number;
  contentType: string;
}

export interface OriginContent {
  dir: string;
  files: OriginFile[];
}

const CONTENT: Array<{ path: string; contentType: string; render: () => Buffer }> = [
  { path: '/index.html', contentType: 'text/html; charset=utf-8', render: renderProductPage },
  ...IMAGES.map((spec) => ({ path: `/images/${spec.name}`, contentType: 'image/png', render: () => renderImage(spec) })),
];

/** Rendering takes most of a second (the 2 MB picture, deflated) and gives the same bytes every
 *  time, so a process that fills several folders (the tests do) renders each file once. */
const rendered = new Map<string, Buffer>();
function renderOnce(item: (typeof CONTENT)[number]): Buffer {
  let bytes = rendered.get(item.path);
  if (!bytes) rendered.set(item.path, (bytes = item.render()));
  return bytes;
}

/**
 * Make sure every file is in `dir` (generating the missing ones) and list them. A file already
 * there is reused as it is: delete the folder to have everything generated afresh.
 */
export function ensureOriginContent(dir: string = path.join(labDir(), 'origin')): OriginContent {
  const root = path.resolve(dir);
  const files = CONTENT.map((item) => {
    const { path: urlPath, contentType } = item;
    const file = path.join(root, ...urlPath.split('/'));
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // Write to a temporary name, then rename: a crash or a second process generating at the
      // same time never leaves a half-written picture that would be reused (and served) forever.
      // The leading dot keeps the temporary file out of reach: the origin serves no dotfiles.
      const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
      fs.writeFileSync(tmp, renderOnce(item));
      fs.renameSync(tmp, file);
    }
    return { path: urlPath, file, bytes: fs.statSync(file).size, contentType };
  });
  return { dir: root, files };
}
