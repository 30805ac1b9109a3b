/** The visible mark of --watermark. */
export const WATERMARK_TEXT = 'AI-GENERATED';

/** 5x7 glyphs of the mark's letters, one string per row, '#' for ink. */
const GLYPHS: Record<string, string[]> = {
  A: [' ### ', '#   #', '#   #', '#####', '#   #', '#   #', '#   #'],
  D: ['#### ', '#   #', '#   #', '#   #', '#   #', '#   #', '#### '],
  E: ['#####', '#    ', '#    ', '#### ', '#    ', '#    ', '#####'],
  G: [' ####', '#    ', '#    ', '#  ##', '#   #', '#   #', ' ####'],
  I: ['#####', '  #  ', '  #  ', '  #  ', '  #  ', '  #  ', '#####'],
  N: ['#   #', '##  #', '# # #', '#  ##', '#   #', '#   #', '#   #'],
  R: ['#### ', '#   #', '#   #', '#### ', '# #  ', '#  # ', '#   #'],
  T: ['#####', '  #  ', '  #  ', '  #  ', '  #  ', '  #  ', '  #  '],
  '-': ['     ', '     ', '     ', '#####', '     ', '     ', '     '],
};

/**
 * Stamps WATERMARK_TEXT into the bottom-left corner of an RGB frame, in place: white letters on
 * a darkened band, scaled with the frame (1 px per glyph pixel up to 128 px wide, then more).
 * Drawn here rather than with ffmpeg's drawtext, which needs a font and a libfreetype build.
 */
export function stampWatermark(rgb: Uint8Array, width: number, height: number): void {
  const scale = Math.max(1, Math.floor(width / 128));
  const glyphW = 6 * scale; // 5 columns and 1 of spacing
  const textW = WATERMARK_TEXT.length * glyphW - scale;
  const pad = scale;
  const bandH = 7 * scale + 2 * pad;
  const bandW = Math.min(width, textW + 2 * pad);
  const top = height - bandH;
  if (top < 0) return;
  for (let y = top; y < height; y++)
    for (let x = 0; x < bandW; x++)
      for (let c = 0; c < 3; c++) {
        const i = (y * width + x) * 3 + c;
        rgb[i] = rgb[i]! >> 2; // darken to a quarter, so the white letters read on any frame
      }
  [...WATERMARK_TEXT].forEach((char, n) => {
    const glyph = GLYPHS[char]!;
    for (let gy = 0; gy < 7; gy++)
      for (let gx = 0; gx < 5; gx++) {
        if (glyph[gy]![gx] !== '#') continue;
        for (let sy = 0; sy < scale; sy++)
          for (let sx = 0; sx < scale; sx++) {
            const x = pad + n * glyphW + gx * scale + sx;
            const y = top + pad + gy * scale + sy;
            if (x >= width) continue;
            rgb.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
          }
      }
  });
}
