import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';
import { printable } from '../../oneLine';

export const VIDEO_EXTENSIONS = ['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi'];

export interface VideoFile {
  file: string;
  /** The path relative to the input root without its extension: unique and stable. */
  key: string;
  identity: string;
  videoId: string;
}

/**
 * The videos under `root` (or `root` itself if it is a file), sorted by key. In the VoxCeleb2
 * layout `id00012/_raVRuCFmdo/00001.mp4` the identity is `id00012` and the video `_raVRuCFmdo`;
 * in any other folder a video's identity is its first sub-folder, or its own name when it sits
 * at the top, and its video id is its name.
 */
export function listVideos(root: string): VideoFile[] {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(root);
  } catch {
    throw new UserError(`${printable(root)}: no such file or directory`);
  }
  if (stat.isFile()) {
    const key = path.basename(root, path.extname(root));
    return [{ file: root, key, identity: key, videoId: key }];
  }
  const found: VideoFile[] = [];
  const walk = (dir: string, parts: string[]): void => {
    const entries = fs.readdirSync(dir, { withFileTypes: true });
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full, [...parts, entry.name]);
      else if (VIDEO_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) {
        const stem = path.basename(entry.name, path.extname(entry.name));
        const key = [...parts, stem].join('/');
        const identity = parts[0] ?? stem;
        const videoId = parts.length >= 2 ? parts[1]! : stem;
        found.push({ file: full, key, identity, videoId });
      }
    }
  };
  walk(root, []);
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
