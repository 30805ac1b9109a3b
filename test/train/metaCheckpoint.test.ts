import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../src/backend/select';
import { UserError } from '../../src/errors';
import {
  findLatestMetaCheckpoint,
  loadMetaNetworks,
  openMetaCheckpoint,
} from '../../src/train/metaCheckpoint';
import { makeUntrainedMetaCheckpoint } from '../helpers/metaCheckpoint';

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'th-meta-ckpt-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test("finetune's default: the run under checkpoints/ whose latest checkpoint is newest", async () => {
  const root = path.join(dir, 'checkpoints');
  const older = await makeUntrainedMetaCheckpoint(path.join(root, 'a'), { imageSize: 64, seed: 1 });
  const newer = await makeUntrainedMetaCheckpoint(path.join(root, 'b'), { imageSize: 64, seed: 2 });
  fs.mkdirSync(path.join(root, 'not-a-run'));
  const past = new Date(Date.now() - 60_000);
  fs.utimesSync(path.join(older, 'checkpoints', 'latest'), past, past);
  expect(await findLatestMetaCheckpoint(root)).toBe(newer);
  const future = new Date(Date.now() + 60_000);
  fs.utimesSync(path.join(older, 'checkpoints', 'latest'), future, future);
  expect(await findLatestMetaCheckpoint(root)).toBe(older);

  await expect(findLatestMetaCheckpoint(path.join(dir, 'none'))).rejects.toThrow(
    /none: no such directory: no meta-learning run to start from/,
  );
  fs.mkdirSync(path.join(dir, 'empty'));
  await expect(findLatestMetaCheckpoint(path.join(dir, 'empty'))).rejects.toThrow(UserError);
});

test("a checkpoint opens with its config, framing and id; W is left out of a person's networks", async () => {
  const run = await makeUntrainedMetaCheckpoint(path.join(dir, 'c'), {
    imageSize: 64,
    seed: 3,
    videos: 7,
  });
  const meta = await openMetaCheckpoint(run);
  expect(meta.framing).toEqual({
    size: 64,
    crop: { scale: 1.8, offsetY: -0.1 },
    background: 'black',
  });
  expect(meta.id).toMatch(/^step-0-[0-9a-f]{12}$/);
  expect(meta.trainConfig.model.imageSize).toBe(64);
  const nets = await loadMetaNetworks(meta);
  // The checkpoint's W has 7 columns; a person's D holds a single unused one.
  expect(nets.discriminator.projectionMatrix.shape).toEqual([
    meta.trainConfig.model.embeddingSize,
    1,
  ]);
  Object.values(nets).forEach((n) => n.dispose());
});
