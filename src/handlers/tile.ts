/**
 * The images of `# IMGEXT` (PROTOCOL §7.10): a 100×100 PNG per value, the value drawn centred
 * on a background colour that cycles through ten colours, the text white or black depending on
 * the background's brightness. Text is drawn with a 3×5 pixel font (digits, A–Z, a few signs);
 * characters it lacks are left out.
 */
import { encodePngRgb } from './png.js';

export const TILE_SIZE = 100;

/** PROTOCOL §7.10: red, green, blue, yellow, magenta, cyan, orange, purple, sky blue, pink. */
export const TILE_COLOURS: ReadonlyArray<readonly [number, number, number]> = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 0],
  [255, 0, 255],
  [0, 255, 255],
  [255, 165, 0],
  [128, 0, 128],
  [135, 206, 235],
  [255, 192, 203],
];

// 3×5 glyphs, one row per 3-bit number (bit 2 = left column).
const GLYPHS: Readonly<Record<string, readonly number[]>> = {
  '0': [7, 5, 5, 5, 7],
  '1': [2, 6, 2, 2, 7],
  '2': [7, 1, 7, 4, 7],
  '3': [7, 1, 7, 1, 7],
  '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7],
  '6': [7, 4, 7, 5, 7],
  '7': [7, 1, 1, 1, 1],
  '8': [7, 5, 7, 5, 7],
  '9': [7, 5, 7, 1, 7],
  A: [2, 5, 7, 5, 5],
  B: [6, 5, 6, 5, 6],
  C: [7, 4, 4, 4, 7],
  D: [6, 5, 5, 5, 6],
  E: [7, 4, 6, 4, 7],
  F: [7, 4, 6, 4, 4],
  G: [7, 4, 5, 5, 7],
  H: [5, 5, 7, 5, 5],
  I: [7, 2, 2, 2, 7],
  J: [1, 1, 1, 5, 7],
  K: [5, 5, 6, 5, 5],
  L: [4, 4, 4, 4, 7],
  M: [5, 7, 7, 5, 5],
  N: [6, 5, 5, 5, 5],
  O: [7, 5, 5, 5, 7],
  P: [7, 5, 7, 4, 4],
  Q: [7, 5, 5, 7, 1],
  R: [6, 5, 6, 5, 5],
  S: [7, 4, 7, 1, 7],
  T: [7, 2, 2, 2, 2],
  U: [5, 5, 5, 5, 7],
  V: [5, 5, 5, 5, 2],
  W: [5, 5, 7, 7, 5],
  X: [5, 5, 2, 5, 5],
  Y: [5, 5, 2, 2, 2],
  Z: [7, 1, 2, 4, 7],
  '-': [0, 0, 7, 0, 0],
  '+': [0, 2, 7, 2, 0],
  '.': [0, 0, 0, 0, 2],
  '!': [2, 2, 2, 0, 2],
  '?': [7, 1, 3, 0, 2],
  '#': [5, 7, 5, 7, 5],
  '/': [1, 1, 2, 4, 4],
  ':': [0, 2, 0, 2, 0],
  _: [0, 0, 0, 0, 7],
};

/** White on dark backgrounds, black on light ones (ITU-R BT.601 luma). */
export function textColourFor([r, g, b]: readonly [number, number, number]): [number, number, number] {
  return 0.299 * r + 0.587 * g + 0.114 * b > 128 ? [0, 0, 0] : [255, 255, 255];
}

/** The PNG for the `index`-th value (0-based) of an `# IMGEXT` command. */
export function renderValueTile(value: string, index: number): Buffer {
  const size = TILE_SIZE;
  const bg = TILE_COLOURS[index % TILE_COLOURS.length]!;
  const fg = textColourFor(bg);
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0; i < rgb.length; i += 3) {
    rgb[i] = bg[0];
    rgb[i + 1] = bg[1];
    rgb[i + 2] = bg[2];
  }
  const glyphs = [...value.toUpperCase()].map((ch) => GLYPHS[ch]).filter((g) => g !== undefined);
  if (glyphs.length > 0) {
    // Each glyph takes 3 columns plus 1 of spacing; pick the largest scale that fits in 90 px.
    const scale = Math.max(1, Math.min(6, Math.floor(90 / (glyphs.length * 4 - 1))));
    const drawn = Math.min(glyphs.length, Math.floor((size + scale) / (4 * scale)));
    const width = (drawn * 4 - 1) * scale;
    const x0 = Math.floor((size - width) / 2);
    const y0 = Math.floor((size - 5 * scale) / 2);
    for (let g = 0; g < drawn; g++) {
      const rows = glyphs[g]!;
      for (let row = 0; row < 5; row++) {
        for (let col = 0; col < 3; col++) {
          if (((rows[row]! >> (2 - col)) & 1) === 0) continue;
          fillRect(rgb, size, x0 + (g * 4 + col) * scale, y0 + row * scale, scale, fg);
        }
      }
    }
  }
  return encodePngRgb(size, size, rgb);
}

function fillRect(rgb: Uint8Array, size: number, x: number, y: number, side: number, c: readonly number[]): void {
  for (let yy = y; yy < y + side && yy < size; yy++) {
    for (let xx = x; xx < x + side && xx < size; xx++) {
      if (xx < 0 || yy < 0) continue;
      const p = (yy * size + xx) * 3;
      rgb[p] = c[0]!;
      rgb[p + 1] = c[1]!;
      rgb[p + 2] = c[2]!;
    }
  }
}
