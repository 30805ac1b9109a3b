import type { Random } from '../random';

/** One frame's pose and expression for a synthetic clip. */
export interface FrameMotion {
  /** Head roll about the face centre, radians; positive turns clockwise on screen (y is down). */
  angle: number;
  /** Head size relative to the photo's. */
  scale: number;
  /** Head shift, in units of the face size. */
  dx: number;
  dy: number;
  /** 0 closed (as in the photo) .. 1 wide open. */
  mouth: number;
  /** 0 open (as in the photo) .. 1 closed. */
  rightEye: number;
  leftEye: number;
}

/** How far and how fast the synthetic head moves. */
export interface MotionRanges {
  /** Largest |angle|, radians. */
  rotation: number;
  /** Largest |scale - 1|. */
  scale: number;
  /** Largest |dx| and |dy|, face sizes. */
  translation: number;
  /** Peak mouth opening, 0..1. */
  mouth: number;
  /** Syllables a second: the mouth's open-close rate. */
  syllableRate: number;
  /** Mean seconds between blinks. */
  blinkInterval: number;
  /** Frames a second, to turn the rates above into frames. */
  fps: number;
}

export const DEFAULT_MOTION: MotionRanges = {
  rotation: (8 * Math.PI) / 180,
  scale: 0.06,
  translation: 0.05,
  mouth: 0.8,
  syllableRate: 4,
  blinkInterval: 3,
  fps: 25,
};

/** Head motion frequencies (Hz): slow drifts and nods, no jitter. */
const HEAD_HZ: readonly [number, number] = [0.05, 0.6];
/** Blinks are 2-4 frames at least half closed (100-160 ms at 25 fps). */
const BLINK_FRAMES: readonly [number, number] = [2, 4];

/**
 * A smooth random signal in [-1, 1] that is 0 at frame 0: a few sinusoids sin(2 pi f t) with
 * random frequencies, signs and weights summing to 1. Starting every parameter at 0 makes frame 0
 * the unwarped photo; the weights' sum bounds the range and 2 pi f_max / fps bounds the step.
 */
function wander(frames: number, random: Random, fps: number, hz: readonly [number, number]) {
  const terms = Array.from({ length: 3 }, () => ({
    omega: (2 * Math.PI * random.uniform(hz[0], hz[1])) / fps,
    weight: random.uniform(0.2, 1) * (random.next() < 0.5 ? -1 : 1),
  }));
  const total = terms.reduce((sum, term) => sum + Math.abs(term.weight), 0);
  const out = new Float64Array(frames);
  for (let t = 0; t < frames; t++)
    for (const term of terms) out[t]! += (term.weight / total) * Math.sin(term.omega * t);
  return out;
}

/**
 * Speech-like mouth opening: a syllable oscillation (1 - cos phase) / 2 whose rate drifts by
 * +-25% around syllableRate, under a slow loudness envelope that drops to 0 in pauses. The phase
 * starts at 0, so frame 0 has the photo's mouth.
 */
function speech(frames: number, random: Random, ranges: MotionRanges): Float64Array {
  const rate = wander(frames, random, ranges.fps, [0.1, 0.5]);
  const loudness = wander(frames, random, ranges.fps, [0.1, 0.5]);
  const out = new Float64Array(frames);
  let phase = 0;
  for (let t = 0; t < frames; t++) {
    const envelope = Math.min(1, Math.max(0, 0.45 + 0.75 * loudness[t]!));
    out[t] = ranges.mouth * envelope * 0.5 * (1 - Math.cos(phase));
    phase += (2 * Math.PI * ranges.syllableRate * (1 + 0.25 * rate[t]!)) / ranges.fps;
  }
  return out;
}

/**
 * Blinks, both eyes together: raised-cosine bumps 0.5 (1 + cos(pi (t - t0) / w)) peaking at 1
 * on a whole frame t0, w in BLINK_FRAMES, spaced 0.5-1.5 blinkInterval apart. The first comes
 * late enough that frame 0 is open.
 */
function blinks(frames: number, random: Random, ranges: MotionRanges): Float64Array {
  const out = new Float64Array(frames);
  const gap = () => Math.round(ranges.fps * ranges.blinkInterval * random.uniform(0.5, 1.5));
  let peak = Math.max(BLINK_FRAMES[1], Math.round(gap() * 0.6));
  while (peak - BLINK_FRAMES[1] < frames) {
    const width = random.uniform(BLINK_FRAMES[0], BLINK_FRAMES[1]);
    for (let t = Math.ceil(peak - width); t < peak + width; t++)
      if (t >= 0 && t < frames)
        out[t] = Math.max(out[t]!, 0.5 * (1 + Math.cos((Math.PI * (t - peak)) / width)));
    peak += Math.max(2 * BLINK_FRAMES[1] + 1, gap());
  }
  return out;
}

/**
 * Per-frame motion for a clip of `frames` frames: deterministic for a given generator state.
 * Every parameter starts neutral at frame 0 (angle 0, scale 1, no shift, the photo's mouth and
 * eyes), so frame 0 is the plain crop of the photo.
 */
export function sampleMotion(
  frames: number,
  random: Random,
  options: Partial<MotionRanges> = {},
): FrameMotion[] {
  const ranges = { ...DEFAULT_MOTION, ...options };
  const angle = wander(frames, random, ranges.fps, HEAD_HZ);
  const scale = wander(frames, random, ranges.fps, HEAD_HZ);
  const dx = wander(frames, random, ranges.fps, HEAD_HZ);
  const dy = wander(frames, random, ranges.fps, HEAD_HZ);
  const mouth = speech(frames, random, ranges);
  const eyes = blinks(frames, random, ranges);
  return Array.from({ length: frames }, (_, t) => ({
    angle: ranges.rotation * angle[t]!,
    scale: 1 + ranges.scale * scale[t]!,
    dx: ranges.translation * dx[t]!,
    dy: ranges.translation * dy[t]!,
    mouth: mouth[t]!,
    rightEye: eyes[t]!,
    leftEye: eyes[t]!,
  }));
}
