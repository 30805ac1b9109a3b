import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../src/backend/select';
import { runCli } from '../../src/cli/main';
import { FaceLandmarker } from '../../src/data/landmarks/landmarker';
import { buildFaceClip } from '../../src/data/preprocess/faceClip';
import { readSampledFrames } from '../../src/data/preprocess/processVideo';
import { reconstructionError } from '../../src/eval/reconstruction';
import { silentLogger } from '../../src/log';
import { loadContentTerms } from '../../src/losses/contentTerms';
import { listCheckpoints } from '../../src/train/checkpoint';
import { parseTrainConfig } from '../../src/train/config';
import { finetune } from '../../src/train/finetune';
import { resolvedConfigYaml } from '../../src/train/loadConfig';
import { openMetaCheckpoint } from '../../src/train/metaCheckpoint';
import { openPersonModel, readPersonInfo } from '../../src/train/personModel';
import { readEventFile } from '../../src/train/tensorboard/eventReader';
import { trainMeta } from '../../src/train/trainMeta';
import { capture, expectUserError, lines } from '../cli/helpers';
import { makeUntrainedMetaCheckpoint } from '../helpers/metaCheckpoint';
import { facePhoto, writeSynthPersonVideo } from '../helpers/personVideo';

let dir: string;
let metaRun: string;
let personVideo: string;

const cli = (args: string[]) =>
  capture((io) => runCli(['--backend', 'wasm', '--seed', '1', '--log-level', 'warn', ...args], io));

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-finetune-'));
  await initBackend({ backend: 'wasm' });
  // The meta-learning corpus: synth clips of the faces in sample photos 1-5. Sample 6's face is
  // the new person, never seen in meta-learning.
  const store = path.join(dir, 'store');
  const synth = await cli([
    'synth',
    ...[1, 2, 3, 4, 5].map(facePhoto),
    '--out',
    store,
    '--size',
    '64',
    '--frames',
    '12',
    '--clips',
    '1',
  ]);
  expect(synth.code).toBe(0);
  const config = parseTrainConfig(
    {
      model: { preset: 'tiny' },
      data: { k: 2, heldoutFraction: 0, heldoutFrames: 1, prefetch: 1 },
      train: {
        batchSize: 2,
        steps: 40,
        dStepsPerGStep: 1,
        lrEmbedderGenerator: 2e-4,
        lrDiscriminator: 4e-4,
        beta1: 0.5,
      },
      loss: { faceapi: 1 },
      log: { scalarsEvery: 10, imagesEvery: 0, checkpointEvery: 40, evalEvery: 0 },
    },
    'finetune test',
  );
  metaRun = path.join(dir, 'meta');
  await trainMeta({
    config,
    configYaml: resolvedConfigYaml(config),
    store,
    runDir: metaRun,
    resume: false,
    log: silentLogger(),
  });
  personVideo = path.join(dir, 'person.mp4');
  await writeSynthPersonVideo(personVideo, facePhoto(6), { frames: 24, size: 160, seed: 7 });
}, 400_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("finetune lowers the new person's L1 and perceptual error on held-out frames, against feed-forward", async () => {
  const feedForward = path.join(dir, 'ff');
  const tuned = path.join(dir, 'tuned');
  const common = ['--shots', '4', '--batch-size', '2', '--checkpoint', metaRun, personVideo];
  const ff = await cli(['finetune', '--feed-forward', '--out', feedForward, ...common]);
  expect(ff.code).toBe(0);
  expect(ff.stdout).toMatch(/finished: 4 shots, feed-forward/);
  const ft = await cli(['finetune', '--epochs', '30', '--out', tuned, ...common]);
  expect(ft.code).toBe(0);
  expect(ft.stdout).toMatch(
    /finished: 4 shots, epoch 30 of 30; 60 steps in [\d.]+ s \([\d.]+ s per epoch\)/,
  );
  console.log(lines(ft.stdout)[0]);

  // The person model records where it came from and how its shots were framed.
  const meta = await openMetaCheckpoint(metaRun);
  const info = readPersonInfo(tuned);
  expect(info.metaCheckpoint.id).toBe(meta.id);
  expect(info.shots).toHaveLength(4);
  expect(info.shots[0]).toMatch(/person\.mp4#\d+$/);
  expect(info.framing).toEqual(meta.framing);
  const events = fs.readdirSync(tuned).filter((f) => f.startsWith('events.out.tfevents.'));
  const scalars = (await readEventFile(path.join(tuned, events[0]!))).filter(
    (e) => e.kind === 'scalar',
  );
  for (const tag of ['loss/content', 'loss/featureMatching', 'loss/discriminator', 'score/real'])
    expect(scalars.some((e) => e.tag === tag)).toBe(true);

  // Held-out frames: frames of the same video that were not shots, framed as the shots were.
  const shotIndices = new Set(info.shots.map((s) => Number(s.split('#')[1])));
  const landmarker = await FaceLandmarker.load();
  const { frames } = await readSampledFrames(personVideo, 12);
  const clip = await buildFaceClip(personVideo, frames, landmarker, {
    size: info.framing.size,
    crop: info.framing.crop,
    minFrames: 1,
  });
  const keep = clip.frameIndices
    .map((index, i) => (shotIndices.has(index) ? -1 : i))
    .filter((i) => i >= 0);
  expect(keep.length).toBeGreaterThanOrEqual(6);
  const terms = await loadContentTerms({ weights: { faceapi: 1 } });
  const errorOf = async (personDir: string) => {
    const model = await openPersonModel(personDir);
    try {
      return reconstructionError(
        model.generator,
        keep.map((i) => clip.frames[i]!),
        keep.map((i) => clip.points[i]!),
        { background: info.framing.background, contentTerms: terms },
      );
    } finally {
      model.generator.dispose();
    }
  };
  const before = await errorOf(feedForward);
  const after = await errorOf(tuned);
  terms.forEach((t) => t.backbone.dispose());
  console.log(
    `new person, ${keep.length} held-out frames: L1 ${before.l1.toFixed(4)} -> ${after.l1.toFixed(4)}, ` +
      `perceptual ${before.perceptual.toFixed(3)} -> ${after.perceptual.toFixed(3)}`,
  );
  expect(after.l1).toBeLessThan(before.l1);
  expect(after.perceptual).toBeLessThan(before.perceptual);

  // --resume continues the same person model up to the new epoch count.
  const more = await cli(['finetune', '--resume', '--out', tuned, '--epochs', '31']);
  expect(more.code).toBe(0);
  expect(more.stdout).toMatch(/epoch 31 of 31; 2 steps/);
  // Without --resume an existing person model is never overwritten.
  expectUserError(
    await cli(['finetune', '--out', tuned, ...common]),
    /tuned: already holds a person model; pass --resume/,
  );
}, 300_000);

test('fewer usable shots than asked: says which files failed and why, runs with the rest', async () => {
  const photos = path.join(dir, 'photos');
  fs.mkdirSync(photos);
  const { frames } = await readSampledFrames(personVideo, 2);
  for (const [i, f] of frames.entries())
    await sharp(f.image.rgb, { raw: { width: f.image.width, height: f.image.height, channels: 3 } })
      .png()
      .toFile(path.join(photos, `shot${i}.png`));
  await sharp({ create: { width: 96, height: 96, channels: 3, background: '#808080' } })
    .png()
    .toFile(path.join(photos, 'wall.png'));
  const result = await cli([
    'finetune',
    '--shots',
    '4',
    '--epochs',
    '1',
    '--checkpoint',
    metaRun,
    '--out',
    path.join(dir, 'two'),
    photos,
  ]);
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(/wall\.png: no face found/);
  expect(result.stderr).toMatch(/2 usable photos, fewer than the 4 shots asked for/);
  expect(readPersonInfo(path.join(dir, 'two')).shots).toHaveLength(2);
}, 120_000);

test('bad input: no faces, a checkpoint of another size, another meta checkpoint', async () => {
  const empty = path.join(dir, 'walls');
  fs.mkdirSync(empty);
  for (const name of ['blank.jpg', 'sky.jpg'])
    await sharp({ create: { width: 80, height: 80, channels: 3, background: '#204060' } })
      .jpeg()
      .toFile(path.join(empty, name));
  expectUserError(
    await cli(['finetune', '--checkpoint', metaRun, '--out', path.join(dir, 'x'), empty]),
    /walls: no usable photo \(2 tried; first: .*blank\.jpg: no face found\)/,
  );
  expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);

  const person = path.join(dir, 'ff-small');
  const made = await cli([
    'finetune',
    '--feed-forward',
    '--shots',
    '2',
    '--checkpoint',
    metaRun,
    '--out',
    person,
    '--lr-generator',
    '1e-3',
    personVideo,
  ]);
  expect(made.code).toBe(0);
  // A rate given is the person model's; the other stays the meta run's.
  const rates = readPersonInfo(person).finetune;
  expect(rates.lrGenerator).toBe(1e-3);
  expect(rates.lrDiscriminator).toBe(
    (await openMetaCheckpoint(metaRun)).trainConfig.train.lrDiscriminator,
  );
  expectUserError(
    await cli(['finetune', '--lr-discriminator', '0', '--checkpoint', metaRun, personVideo]),
    /--lr-discriminator must be a number > 0, got 0/,
  );
  expectUserError(
    await cli(['finetune', '--resume', '--out', person, '--lr-generator', '1e-4']),
    /--lr-generator: a resumed person model keeps its learning rates/,
  );
  const other128 = await makeUntrainedMetaCheckpoint(path.join(dir, 'other128'), {
    imageSize: 128,
    seed: 5,
  });
  expectUserError(
    await cli(['finetune', '--resume', '--out', person, '--checkpoint', other128, '--epochs', '1']),
    /other128.*: a checkpoint of 128 px, but the person model in .*ff-small is 64 px/,
  );
  const other64 = await makeUntrainedMetaCheckpoint(path.join(dir, 'other64'), {
    imageSize: 64,
    seed: 5,
  });
  expectUserError(
    await cli(['finetune', '--resume', '--out', person, '--checkpoint', other64, '--epochs', '1']),
    /ff-small: a person model from another meta checkpoint \(step-40-[0-9a-f]{12}, .*\), not step-0-/,
  );
  expectUserError(
    await cli(['finetune', '--checkpoint', path.join(dir, 'nowhere'), personVideo]),
    /nowhere.*: no such file/,
  );
}, 120_000);

test('Ctrl-C saves the person model where it stopped; --resume continues to the end', async () => {
  const meta = await openMetaCheckpoint(metaRun);
  const out = path.join(dir, 'stopped');
  const controller = new AbortController();
  const options = {
    meta,
    out,
    input: personVideo,
    shots: 2,
    epochs: 3,
    batchSize: 2,
    zoomOut: [0.75],
    seed: 0,
    log: silentLogger(),
    loadLandmarker: () => FaceLandmarker.load(),
  };
  const stopped = await finetune({
    ...options,
    resume: false,
    // The "Ctrl-C" arrives during the first step.
    progress: () => ({
      increment: () => controller.abort(),
      update: () => undefined,
      stop: () => undefined,
    }),
    signal: controller.signal,
  });
  expect(stopped).toMatchObject({ interrupted: true, steps: 1, epochs: 1 });
  expect((await listCheckpoints(out)).map((c) => c.step)).toEqual([1]);
  // A resumed run keeps the batch size it was made with (epochs are counted in its steps).
  const resumed = await finetune({ ...options, batchSize: 1, resume: true });
  expect(resumed).toMatchObject({ interrupted: false, steps: 2, epochs: 3 });
  expect((await listCheckpoints(out)).map((c) => c.step)).toEqual([3]);
}, 120_000);
