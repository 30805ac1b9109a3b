import type { CropBox, CropGeometry } from '../landmarks/crop';

/** Bumped when the layout changes; a store of another format is refused with a clear error. */
export const STORE_FORMAT = 1;

/** How a store's frames were made. Stores can only be merged when their settings agree. */
export interface StoreSettings {
  format: typeof STORE_FORMAT;
  /**
   * What wrote it: `preprocess` (videos), `synth` (synthetic corpus from stills) or `corpus`
   * (the bundled corpus: both, merged).
   */
  producer: 'preprocess' | 'synth' | 'corpus';
  /** Side of the square frames, in pixels. */
  size: number;
  /** Frames sampled per video (a video with fewer usable frames stores fewer). */
  framesPerVideo: number;
  jpegQuality: number;
  crop: CropGeometry;
}

/** One video (or one synthetic clip): its metadata and the points of every stored frame. */
export interface VideoRecord {
  /** Unique within a store, stable across runs: the source path relative to the input root. */
  key: string;
  /** The source file as given on the command line. */
  source: string;
  identity: string;
  videoId: string;
  /** Index in the source video of each stored frame, in order. */
  frameIndices: number[];
  /** 68 points per stored frame, in crop pixels: frameIndices.length x 136 floats. */
  points: Float32Array;
  /** The crop in source pixels (the same box for every frame of a clip). */
  cropBox: CropBox;
  /** Sampled frames that were left out, and why (e.g. no face). */
  skippedFrames: { index: number; reason: string }[];
}

/** A video that could not be used; recorded so that a resumed run does not retry it. */
export interface FailureRecord {
  key: string;
  source: string;
  reason: string;
}

/**
 * Written when a run finishes (and by merge): video keys in sorted order; a video's position is
 * its index i, the column of the projection discriminator's W.
 */
export interface StoreIndex {
  videos: string[];
  /** Sorted distinct identities. */
  identities: string[];
  /** identityOf[i] indexes `identities` for video i. */
  identityOf: number[];
  /** Stored frames of video i. */
  frameCounts: number[];
}
