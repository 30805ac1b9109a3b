/**
 * @vladmandic/face-api, whose nets find faces and landmarks (data/landmarks) and recognise
 * identities (the faceapi loss backbone, the identity metrics), with the weights it ships.
 */
import * as path from 'node:path';
import { UserError } from './errors';

export const FACE_API_PACKAGE = '@vladmandic/face-api';

/** node_modules/@vladmandic/face-api/model, where the package ships its weights: nothing is downloaded. */
export function faceApiModelDir(): string {
  let packageJson: string;
  try {
    packageJson = require.resolve(`${FACE_API_PACKAGE}/package.json`);
  } catch {
    throw new UserError(
      `${FACE_API_PACKAGE} is missing (its face models are needed): run npm install`,
    );
  }
  return path.join(path.dirname(packageJson), 'model');
}
