import * as tf from '@tensorflow/tfjs';
import type { Points } from './landmarks/points';

/**
 * A face frame zoomed out about its centre by `scale` (< 1), its border mirrored outwards to fill
 * the frame, with its landmark points moved to match: the same person framed from further away.
 */
export function zoomOut(
  rgb: Uint8Array,
  points: Points,
  size: number,
  scale: number,
): { rgb: Uint8Array; points: Points } {
  const pad = Math.round((size * (1 / scale - 1)) / 2);
  const padded = size + 2 * pad;
  const rgbOut = tf.tidy(() => {
    const frame = tf.tensor3d(rgb, [size, size, 3], 'int32').toFloat();
    // Mirror padding repeats at most the frame itself; wider pads go in steps.
    let grown: tf.Tensor3D = frame;
    for (let left = pad; left > 0;) {
      const now = Math.min(left, grown.shape[0] - 1);
      grown = tf.mirrorPad(
        grown,
        [
          [now, now],
          [now, now],
          [0, 0],
        ],
        'reflect',
      );
      left -= now;
    }
    return tf.image
      .resizeBilinear(grown, [size, size], false, true)
      .round()
      .clipByValue(0, 255)
      .toInt();
  });
  const bytes = Uint8Array.from(rgbOut.dataSync());
  rgbOut.dispose();
  // Continuous pixel coordinates: the padded frame's edges map onto the output's edges.
  const k = size / padded;
  const moved = new Float32Array(points.length);
  for (let i = 0; i < points.length; i++) moved[i] = (points[i]! + pad) * k;
  return { rgb: bytes, points: moved };
}
