import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../src/backend/select';
import { readImage, type RgbImage } from '../../src/data/image';
import { clipLandmarks } from '../../src/data/landmarks/clipLandmarks';
import { cropBoxFromPoints, cropImage, pointsInCrop } from '../../src/data/landmarks/crop';
import { FaceLandmarker } from '../../src/data/landmarks/landmarker';
import { LEFT_EYE, RIGHT_EYE } from '../../src/data/landmarks/parts';
import { centroid, type Box } from '../../src/data/landmarks/points';
import { loadPersonShots } from '../../src/data/person';
import { UserError } from '../../src/errors';
import { meanFacePoints } from '../helpers/meanFace';
import { ASTRONAUT, GRACE_HOPPER, writeFaceVideo } from '../helpers/videos';

/**
 * Eye regions measured by hand on 4x enlargements of the fixtures, generous enough to hold the
 * whole eye: "right eye" is the person's right, on the image's left.
 */
const EYES: { name: string; file: string; right: Box; left: Box }[] = [
  {
    name: 'grace_hopper.jpg',
    file: GRACE_HOPPER,
    right: { left: 205, top: 180, width: 35, height: 20 },
    left: { left: 288, top: 176, width: 34, height: 20 },
  },
  {
    name: 'astronaut.png',
    file: ASTRONAUT,
    right: { left: 192, top: 94, width: 24, height: 16 },
    left: { left: 233, top: 96, width: 25, height: 16 },
  },
];

const inside = ([x, y]: [number, number], box: Box) =>
  x >= box.left && x <= box.left + box.width && y >= box.top && y <= box.top + box.height;

let landmarker: FaceLandmarker;
let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  landmarker = await FaceLandmarker.load();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-landmarks-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test.each(EYES)('eye centres in $name fall inside the hand-measured eye regions', async (face) => {
  const image = await readImage(face.file);
  const { points, skipped } = await clipLandmarks([image], landmarker);
  expect(skipped).toEqual([]);
  const right = centroid(points[0]!, RIGHT_EYE);
  const left = centroid(points[0]!, LEFT_EYE);
  expect(inside(right, face.right)).toBe(true);
  expect(inside(left, face.left)).toBe(true);
});

/** Two portraits side by side, the second at half size. */
async function twoFaces(): Promise<RgbImage> {
  const big = await sharp(GRACE_HOPPER).resize(300, 350).toBuffer();
  const small = await sharp(ASTRONAUT).removeAlpha().resize(200, 200).toBuffer();
  const { data, info } = await sharp({
    create: { width: 560, height: 360, channels: 3, background: { r: 40, g: 40, b: 40 } },
  })
    .composite([
      { input: small, left: 0, top: 80 },
      { input: big, left: 240, top: 5 },
    ])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { rgb: new Uint8Array(data), width: info.width, height: info.height };
}

test('with several faces, the largest is the one landmarked', async () => {
  const image = await twoFaces();
  const faces = await landmarker.detectFaces(image);
  expect(faces.length).toBe(2);
  expect(faces[0]!.width * faces[0]!.height).toBeGreaterThan(faces[1]!.width * faces[1]!.height);
  const { points } = await clipLandmarks([image], landmarker);
  const [x] = centroid(points[0]!, RIGHT_EYE);
  expect(x).toBeGreaterThan(240); // on the big portrait, not the small one at the left
});

test('the crop maps pixels and points the same way', async () => {
  // A bright dot at each of a few landmark positions on a dark image, then the crop.
  const width = 400;
  const height = 300;
  const points = meanFacePoints(200).map((v, i) => v + (i % 2 === 0 ? 130 : 20));
  const rgb = new Uint8Array(width * height * 3).fill(10);
  const probes = [0, 8, 16, 30, 36, 45, 48, 54];
  for (const p of probes) {
    const cx = Math.floor(points[2 * p]!);
    const cy = Math.floor(points[2 * p + 1]!);
    for (let y = cy - 1; y <= cy + 1; y++)
      for (let x = cx - 1; x <= cx + 1; x++)
        rgb.fill(250, (y * width + x) * 3, (y * width + x) * 3 + 3);
    // Put the point at the dot's centre (pixel centres are at +0.5).
    points[2 * p] = cx + 0.5;
    points[2 * p + 1] = cy + 0.5;
  }
  const box = cropBoxFromPoints(points);
  const size = box.size; // no resampling blur: the check is about geometry
  const crop = await cropImage(rgb, width, height, box, size);
  const mapped = pointsInCrop(points, box, size);
  for (const p of probes) {
    const [mx, my] = [mapped[2 * p]!, mapped[2 * p + 1]!];
    let sum = 0;
    let sx = 0;
    let sy = 0;
    for (let y = Math.floor(my) - 3; y <= Math.floor(my) + 3; y++)
      for (let x = Math.floor(mx) - 3; x <= Math.floor(mx) + 3; x++) {
        const v = Math.max(0, crop[(y * size + x) * 3]! - 10);
        sum += v;
        sx += v * (x + 0.5);
        sy += v * (y + 0.5);
      }
    expect(Math.abs(sx / sum - mx)).toBeLessThan(0.01);
    expect(Math.abs(sy / sum - my)).toBeLessThan(0.01);
  }
});

test('the crop pads outside the image with black', async () => {
  const rgb = new Uint8Array(20 * 10 * 3).fill(200);
  const crop = await cropImage(rgb, 20, 10, { left: -5, top: -5, size: 20 }, 20);
  expect(crop[0]).toBe(0); // (0, 0) is outside
  expect(crop[(10 * 20 + 10) * 3]).toBe(200); // (10, 10) is source (5, 5)
  expect(crop[(16 * 20 + 10) * 3]).toBe(0); // row 16 is source row 11, past the bottom
});

test('person shots from a folder: faces cropped as in training, a photo without a face skipped', async () => {
  const person = path.join(dir, 'person');
  fs.mkdirSync(person);
  fs.copyFileSync(GRACE_HOPPER, path.join(person, 'a.jpg'));
  await sharp(GRACE_HOPPER).flop().toFile(path.join(person, 'b.png'));
  await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
    .jpeg()
    .toFile(path.join(person, 'c-wall.jpg'));
  fs.writeFileSync(path.join(person, 'notes.txt'), 'not a photo');
  const warnings: string[] = [];
  const log = { warn: (m: string) => warnings.push(m) } as never;
  const shots = await loadPersonShots(person, {
    shots: 8,
    size: 128,
    crop: { scale: 1.8, offsetY: -0.1 },
    landmarker,
    log,
  });
  expect(shots.sources.map((s) => path.basename(s))).toEqual(['a.jpg', 'b.png']);
  expect(shots.frames.map((f) => [f.width, f.height])).toEqual([
    [128, 128],
    [128, 128],
  ]);
  expect(warnings.join('\n')).toMatch(/c-wall\.jpg: no face found/);
  expect(warnings.join('\n')).toMatch(/2 usable photos, fewer than the 8 shots/);
  // The crop rule puts the eyes at the same place in every shot (the flop mirrors them).
  const [ax, ay] = centroid(shots.points[0]!, RIGHT_EYE);
  const [bx, by] = centroid(shots.points[1]!, LEFT_EYE);
  expect(Math.abs(128 - ax - bx)).toBeLessThan(3);
  expect(Math.abs(ay - by)).toBeLessThan(3);
});

test('person shots from a video: K frames of one clip with one crop', async () => {
  const video = path.join(dir, 'person.mp4');
  await writeFaceVideo(video, ASTRONAUT, { frames: 20, width: 300, height: 300 });
  const shots = await loadPersonShots(video, {
    shots: 4,
    size: 64,
    crop: { scale: 1.8, offsetY: -0.1 },
    landmarker,
  });
  expect(shots.sources).toEqual([`${video}#2`, `${video}#7`, `${video}#12`, `${video}#17`]);
  expect(shots.points).toHaveLength(4);
});

test('a photo without a face, given alone, is a one-line error naming it', async () => {
  const wall = path.join(dir, 'person', 'c-wall.jpg');
  const shots = loadPersonShots(wall, {
    shots: 1,
    size: 64,
    crop: { scale: 1.8, offsetY: -0.1 },
    landmarker,
  });
  await expect(shots).rejects.toThrow(UserError);
  await expect(shots).rejects.toThrow(/c-wall\.jpg: no face found$/);
});
