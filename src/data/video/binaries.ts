import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../errors';

export type FfmpegTool = 'ffmpeg' | 'ffprobe';

const PACKAGES: Record<FfmpegTool, string> = {
  ffmpeg: '@ffmpeg-installer/ffmpeg',
  ffprobe: '@ffprobe-installer/ffprobe',
};

/** Environment variables that name a binary explicitly (also how tests simulate a missing one). */
export const BINARY_ENV: Record<FfmpegTool, string> = {
  ffmpeg: 'TALKING_HEADS_FFMPEG',
  ffprobe: 'TALKING_HEADS_FFPROBE',
};

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The binary to run: $TALKING_HEADS_FFMPEG / $TALKING_HEADS_FFPROBE if set, else the system one
 * on PATH, else the one shipped by the npm installer package.
 */
export function resolveBinary(tool: FfmpegTool, env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[BINARY_ENV[tool]];
  if (explicit) {
    if (!fs.existsSync(explicit))
      throw new UserError(`${tool} not found at ${explicit} ($${BINARY_ENV[tool]})`);
    return explicit;
  }
  const system = onPath(tool, env);
  if (system) return system;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { path: shipped } = require(PACKAGES[tool]) as { path: string };
    if (fs.existsSync(shipped)) return shipped;
  } catch {
    // fall through to the error
  }
  throw new UserError(
    `${tool} not found: install it on PATH, or reinstall dependencies with \`npm ci\` (${PACKAGES[tool]})`,
  );
}
