import type * as tf from '@tensorflow/tfjs';
import { FACE_API_PACKAGE as PACKAGE, faceApiModelDir } from '../../faceApiPackage';

/** The parts of @vladmandic/face-api's node-wasm bundle that face finding uses. */
export interface FaceApi {
  nets: {
    ssdMobilenetv1: FaceApiNet;
    faceLandmark68Net: FaceApiNet & {
      detectLandmarks(input: tf.Tensor3D): Promise<{ positions: { x: number; y: number }[] }>;
    };
  };
  SsdMobilenetv1Options: new (options: { minConfidence: number; maxResults?: number }) => unknown;
  detectAllFaces(
    input: tf.Tensor3D,
    options: unknown,
  ): Promise<{ score: number; box: { x: number; y: number; width: number; height: number } }[]>;
}

interface FaceApiNet {
  isLoaded: boolean;
  loadFromDisk(dir: string): Promise<void>;
}

/**
 * Loads the node-wasm bundle (the default entry requires tfjs-node) with the SSD face detector and
 * the 68-point landmark net. The bundle requires the same @tensorflow/tfjs module as this
 * project, so it runs on whichever backend initBackend chose.
 */
export async function loadFaceApi(): Promise<FaceApi> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const faceapi = require(`${PACKAGE}/dist/face-api.node-wasm.js`) as FaceApi;
  const dir = faceApiModelDir();
  if (!faceapi.nets.ssdMobilenetv1.isLoaded) await faceapi.nets.ssdMobilenetv1.loadFromDisk(dir);
  if (!faceapi.nets.faceLandmark68Net.isLoaded)
    await faceapi.nets.faceLandmark68Net.loadFromDisk(dir);
  return faceapi;
}
