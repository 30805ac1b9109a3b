import { STORE_FORMAT, type StoreSettings } from '../src/data/store/schema';

/** A preprocess store's settings at `size` px, with the CLI's default JPEG quality and crop. */
export function storeSettings(size: number, framesPerVideo: number): StoreSettings {
  return {
    format: STORE_FORMAT,
    producer: 'preprocess',
    size,
    framesPerVideo,
    jpegQuality: 95,
    crop: { scale: 1.8, offsetY: -0.1 },
  };
}
