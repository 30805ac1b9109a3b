import type { Points } from '../data/landmarks/points';
import { zoomOut } from '../data/zoomOut';

/**
 * Fine-tuning's zoomed-out copies of the shots (`finetune --zoom-out`), each scale's after the
 * shots themselves. A few shots show a face at one distance; a driver leans back and forth. With
 * copies framed from further away, G learns the person at the sizes the driver's landmarks
 * will ask for, not only at the shots' own.
 */
export function withZoomedCopies(
  shots: { frames: readonly Uint8Array[]; points: readonly Points[] },
  size: number,
  scales: readonly number[],
): { frames: Uint8Array[]; points: Points[] } {
  const frames = [...shots.frames];
  const points = [...shots.points];
  for (const scale of scales)
    shots.frames.forEach((rgb, k) => {
      const zoomed = zoomOut(rgb, shots.points[k]!, size, scale);
      frames.push(zoomed.rgb);
      points.push(zoomed.points);
    });
  return { frames, points };
}
