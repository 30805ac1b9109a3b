import type { FaceLandmarker } from '../data/landmarks/landmarker';

/** face-api's detector and landmark net, imported only when a command needs faces (it is heavy). */
export async function loadFaceLandmarker(): Promise<FaceLandmarker> {
  const { FaceLandmarker } = await import('../data/landmarks/landmarker');
  return FaceLandmarker.load();
}
