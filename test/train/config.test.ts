import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { UserError } from '../../src/errors';
import { PAPER_LOSS_WEIGHTS } from '../../src/losses/lossWeights';
import { PAPER_PRESET, TINY_PRESET, type ModelConfig } from '../../src/models/config';
import { parseTrainConfig, type TrainConfig } from '../../src/train/config';
import { finetuneRates } from '../../src/train/runParts';
import {
  CONFIGS_DIR,
  availableConfigs,
  loadTrainConfig,
  resolveConfigPath,
  resolvedConfigYaml,
} from '../../src/train/loadConfig';

const REPO_CONFIGS = path.join(__dirname, '..', '..', 'configs');

/** The UserError message `run` throws; fails the test if it throws nothing or something else. */
function userError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a UserError');
}

const parseError = (value: unknown) => userError(() => parseTrainConfig(value, 'configs/x.yaml'));

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'train-config-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('shipped configs', () => {
  test('the package configs folder is the repository one, and the three configs are in it', () => {
    expect(path.resolve(CONFIGS_DIR)).toBe(path.resolve(REPO_CONFIGS));
    expect(availableConfigs()).toEqual(['cpu128', 'tiny', 'voxceleb2']);
  });

  test("voxceleb2 is the paper's model and numbers", () => {
    const config = loadTrainConfig('voxceleb2');
    expect(config.model).toEqual(PAPER_PRESET);
    expect(config.data).toMatchObject({ k: 8, flip: true, store: 'data/voxceleb2' });
    expect(config.train).toMatchObject({
      lrEmbedderGenerator: 5e-5,
      lrDiscriminator: 2e-4,
      dStepsPerGStep: 2,
      gradientClip: null,
    });
    expect(config.loss).toMatchObject({ ...PAPER_LOSS_WEIGHTS });
    expect(config.loss).toMatchObject({ vgg19Weights: null, vggfaceWeights: null });
  });

  test('voxceleb2.yaml only spells out the defaults (the defaults are the paper)', () => {
    expect(loadTrainConfig('voxceleb2')).toEqual(
      parseTrainConfig({ model: { preset: 'paper' }, data: { store: 'data/voxceleb2' } }, 'x'),
    );
  });

  test('tiny is the tiny preset on the synthetic corpus with frequent logging', () => {
    const config = loadTrainConfig('tiny');
    expect(config.model).toEqual(TINY_PRESET);
    expect(config.data).toMatchObject({ store: 'data/synth', k: 4 });
    expect(config.train.batchSize).toBe(2);
    expect(config.log).toMatchObject({
      scalarsEvery: 10,
      imagesEvery: 50,
      checkpointEvery: 200,
      evalEvery: 50,
    });
  });
});

describe('schema', () => {
  test('defaults fill every section; model is required', () => {
    const config = parseTrainConfig({ model: { preset: 'tiny' } }, 'x');
    expect(config.data).toEqual({
      store: null,
      k: 8,
      flip: true,
      heldoutFraction: 0.05,
      heldoutFrames: 2,
      splitSeed: 0,
      evalStore: null,
      prefetch: 2,
      background: 'black',
    });
    expect(config.train.batchSize).toBe(16);
    expect(config.loss.vggfaceChannelOrder).toBe('rgb');
    expect(parseError({})).toBe(
      'configs/x.yaml: model: missing; expected a mapping such as {preset: paper}',
    );
  });

  test('a preset takes field overrides, attention part by part', () => {
    const config = parseTrainConfig(
      { model: { preset: 'paper', embedderPooling: 'avg', attention: { generatorUp: [128] } } },
      'x',
    );
    expect(config.model).toEqual({
      ...PAPER_PRESET,
      embedderPooling: 'avg',
      attention: { ...PAPER_PRESET.attention, generatorUp: [128] },
    });
  });

  test('without a preset every field is needed', () => {
    expect(parseTrainConfig({ model: structuredClone(TINY_PRESET) }, 'x').model).toEqual(
      TINY_PRESET,
    );
    const rest: Partial<ModelConfig> = structuredClone(TINY_PRESET);
    delete rest.leakySlope;
    expect(parseError({ model: rest })).toBe(
      'configs/x.yaml: model: without a preset (paper or tiny) every field is needed; missing: leakySlope',
    );
  });

  test.each([
    [{ trian: {} }, 'trian', 'train'],
    [{ model: { preset: 'tiny', imagSize: 64 } }, 'model.imagSize', 'model.imageSize'],
    [
      { model: { preset: 'tiny', attention: { embeder: [16] } } },
      'model.attention.embeder',
      'model.attention.embedder',
    ],
    [{ data: { flpi: false } }, 'data.flpi', 'data.flip'],
    [{ train: { batchSzie: 4 } }, 'train.batchSzie', 'train.batchSize'],
    [{ loss: { vgg19Weight: 'a.pth' } }, 'loss.vgg19Weight', 'loss.vgg19Weights'],
    [{ log: { evalevery: 5 } }, 'log.evalevery', 'log.evalEvery'],
    // The right key in the wrong section.
    [{ train: { flip: true } }, 'train.flip', 'data.flip'],
  ])('a typo key %j names its dotted path and a suggestion', (extra, key, hint) => {
    expect(parseError({ model: { preset: 'tiny' }, ...extra })).toBe(
      `configs/x.yaml: unknown key '${key}'; did you mean '${hint}'?`,
    );
  });

  test('an unknown key with no near match gets no suggestion', () => {
    expect(parseError({ model: { preset: 'tiny' }, train: { warmup: 100 } })).toBe(
      "configs/x.yaml: unknown key 'train.warmup'",
    );
  });

  test.each([
    [{ train: { batchSize: 'four' } }, 'train.batchSize: expected a positive integer, got "four"'],
    [{ train: { batchSize: 0 } }, 'train.batchSize: expected a positive integer, got 0'],
    [{ data: { k: 2.5 } }, 'data.k: expected a positive integer, got 2.5'],
    [{ data: { flip: 'yes' } }, 'data.flip: expected true or false, got "yes"'],
    [
      { data: { background: 'grey' } },
      `data.background: expected one of 'black', 'white', got "grey"`,
    ],
    [{ data: { heldoutFraction: 1 } }, 'data.heldoutFraction: expected a number in [0, 1), got 1'],
    [
      { train: { lrDiscriminator: -1 } },
      'train.lrDiscriminator: expected a positive number, got -1',
    ],
    [
      { train: { gradientClip: Infinity } },
      'train.gradientClip: expected a positive number, got Infinity',
    ],
    [{ loss: { vgg19Weights: 3 } }, 'loss.vgg19Weights: expected a path or null, got 3'],
    [{ log: null }, 'log: expected a mapping, got null'],
    [{ model: { preset: 'huge' } }, `model.preset: expected one of 'paper', 'tiny', got "huge"`],
    [
      { model: { preset: 'tiny', attention: { embedder: ['x'] } } },
      'model.attention.embedder[0]: expected a feature-map size, got "x"',
    ],
  ])('a wrong type %j names the path', (extra, message) => {
    expect(parseError({ model: { preset: 'tiny' }, ...extra })).toBe(`configs/x.yaml: ${message}`);
  });

  test("validateModelConfig's complaints name the model field", () => {
    expect(parseError({ model: { preset: 'tiny', imageSize: 100 } })).toBe(
      'configs/x.yaml: model.imageSize: must be 64, 128 or 256, got 100',
    );
    expect(parseError({ model: { preset: 'tiny', attention: { embedder: [7] } } })).toBe(
      'configs/x.yaml: model.attention.embedder: has 7; feature maps there are 32, 16, 8, 4',
    );
  });

  test('several problems: the first, and how many more', () => {
    expect(parseError({ model: { preset: 'tiny' }, train: { a: 1, batchSize: 0 } })).toBe(
      "configs/x.yaml: unknown key 'train.a' (and 1 more problem)",
    );
  });

  test('a config that is not a mapping', () => {
    expect(parseError(null)).toBe(
      'configs/x.yaml: expected a mapping with the sections model, data, train, loss and log, got null',
    );
  });
});

describe('loadTrainConfig', () => {
  test.each(['voxceleb2', 'voxceleb2.yaml', 'tiny', 'tiny.yaml'])(
    'bare name %s resolves in configs/',
    (name) => {
      const file = resolveConfigPath(name);
      expect(path.dirname(file)).toBe(CONFIGS_DIR);
      expect(path.basename(file)).toBe(`${name.replace(/\.yaml$/, '')}.yaml`);
      expect(loadTrainConfig(name)).toEqual(loadTrainConfig(file));
    },
  );

  test('a path that exists is used as given, before configs/', () => {
    const file = writeConfig('tiny.yaml', 'model: {preset: tiny}\ntrain: {steps: 7}\n');
    expect(loadTrainConfig(file).train.steps).toBe(7);
    expect(loadTrainConfig('tiny').train.steps).toBe(2000);
  });

  test('a missing config lists the available ones', () => {
    expect(userError(() => loadTrainConfig('voxceleb3'))).toBe(
      `voxceleb3: no such config; the bundled ones are cpu128, tiny, voxceleb2 (in ${CONFIGS_DIR})`,
    );
    const missing = path.join(tmp, 'nope.yaml');
    expect(userError(() => loadTrainConfig(missing))).toContain(
      'the bundled ones are cpu128, tiny, voxceleb2',
    );
  });

  test('a folder is named as one', () => {
    expect(userError(() => loadTrainConfig(tmp))).toBe(`${tmp}: is a directory, not a YAML config`);
  });

  test('a YAML syntax error names the file, line and column', () => {
    const file = writeConfig('broken.yaml', 'model:\n  preset: tiny\ntrain: {batchSize: 2\n');
    expect(userError(() => loadTrainConfig(file))).toMatch(
      new RegExp(`^${file}: YAML syntax error at line 4, column 1: .+`),
    );
    const dup = writeConfig('dup.yaml', 'model: {preset: tiny}\ndata:\n  k: 2\n  k: 3\n');
    expect(userError(() => loadTrainConfig(dup))).toBe(
      `${dup}: YAML syntax error at line 4, column 3: Map keys must be unique`,
    );
  });

  test('errors in a file name the file', () => {
    const file = writeConfig('typo.yaml', 'model: {preset: tiny}\ntrain:\n  batchSzie: 4\n');
    expect(userError(() => loadTrainConfig(file))).toBe(
      `${file}: unknown key 'train.batchSzie'; did you mean 'train.batchSize'?`,
    );
  });

  test('overrides set numbers, booleans, lists, null and nested keys before validation', () => {
    const config = loadTrainConfig('tiny', [
      'train.batchSize=4',
      'data.flip=false',
      'train.gradientClip=1.5',
      'model.attention.generatorUp=[8, 32]',
      'loss.vgg19Weights=weights/vgg19.pth',
      'data.store=null',
      'log.imagesEvery=0',
    ]);
    expect(config.train.batchSize).toBe(4);
    expect(config.data.flip).toBe(false);
    expect(config.data.store).toBeNull();
    expect(config.train.gradientClip).toBe(1.5);
    expect(config.model.attention).toEqual({ ...TINY_PRESET.attention, generatorUp: [8, 32] });
    expect(config.loss.vgg19Weights).toBe('weights/vgg19.pth');
    expect(config.log.imagesEvery).toBe(0);
    // A section the file leaves out is created.
    expect(loadTrainConfig('tiny', ['loss.vggfaceChannelOrder=bgr']).loss.vggfaceChannelOrder).toBe(
      'bgr',
    );
  });

  test('an override of an unknown key or of a wrong type fails by name', () => {
    const file = resolveConfigPath('tiny');
    expect(userError(() => loadTrainConfig('tiny', ['train.batchSzie=4']))).toBe(
      `${file}: unknown key 'train.batchSzie'; did you mean 'train.batchSize'?`,
    );
    expect(userError(() => loadTrainConfig('tiny', ['trian.steps=4']))).toBe(
      `${file}: unknown key 'trian'; did you mean 'train'?`,
    );
    expect(userError(() => loadTrainConfig('tiny', ['train.batchSize=four']))).toBe(
      `${file}: train.batchSize: expected a positive integer, got "four"`,
    );
  });

  test('a malformed override fails on one line', () => {
    expect(userError(() => loadTrainConfig('tiny', ['train.batchSize']))).toBe(
      "override 'train.batchSize': expected key.path=value, e.g. train.batchSize=4",
    );
    expect(userError(() => loadTrainConfig('tiny', ['train..batchSize=4']))).toBe(
      "override 'train..batchSize=4': the key path has an empty part",
    );
    expect(userError(() => loadTrainConfig('tiny', ['data.k.x=1']))).toBe(
      "override 'data.k.x=1': data.k is not a mapping",
    );
    expect(userError(() => loadTrainConfig('tiny', ['train.batchSize=[1,']))).toMatch(
      /^override 'train.batchSize=\[1,': the value is not valid YAML: /,
    );
  });
});

describe('resolvedConfigYaml', () => {
  test.each(['voxceleb2', 'tiny'])('%s round-trips through parseTrainConfig', (name) => {
    const config: TrainConfig = loadTrainConfig(name, ['train.gradientClip=2', 'data.store=null']);
    const text = resolvedConfigYaml(config);
    expect(parseTrainConfig(YAML.parse(text), 'run/config.yaml')).toEqual(config);
    // Spelled out in full: the model without a preset, every default present.
    expect(YAML.parse(text).model.preset).toBeUndefined();
    expect(YAML.parse(text).train.beta2).toBe(0.999);
  });

  test('it loads as a config file too', () => {
    const config = loadTrainConfig('tiny');
    const file = writeConfig('resolved.yaml', resolvedConfigYaml(config));
    expect(loadTrainConfig(file)).toEqual(config);
  });
});

test("fine-tuning's rates: train.finetuneLr* where set, else meta-learning's", () => {
  const base = {
    model: { preset: 'tiny' },
    train: { lrEmbedderGenerator: 2e-4, lrDiscriminator: 4e-4 },
  };
  expect(finetuneRates(parseTrainConfig(base, 'x.yaml').train)).toEqual({
    lrGenerator: 2e-4,
    lrDiscriminator: 4e-4,
    dStepsPerGStep: 2,
  });
  const own = {
    ...base,
    train: { ...base.train, finetuneLrGenerator: 1e-3, finetuneLrDiscriminator: 2e-3 },
  };
  expect(finetuneRates(parseTrainConfig(own, 'x.yaml').train)).toMatchObject({
    lrGenerator: 1e-3,
    lrDiscriminator: 2e-3,
  });
});
