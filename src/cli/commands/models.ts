import { UserError } from '../../errors';
import { defineCommand } from '../command';

/** Parameter counts of the public PyTorch port at 256 px, to compare (docs/method.md, Networks). */
export const PUBLIC_PORT_PARAMS = { embedder: 14.9e6, generator: 38.2e6, discriminator: 19.6e6 };

export interface ModelsReport {
  preset: string;
  imageSize: number;
  numVideos: number;
  embedder: number;
  generator: number;
  /** Of which the projection P (ê -> psi). */
  projection: number;
  psiLength: number;
  /** The discriminator without its per-video W columns, and what each video adds. */
  discriminator: number;
  perVideo: number;
}

/** Builds the three networks of a preset and counts their trainable parameters. */
export async function modelsReport(preset: string, numVideos: number): Promise<ModelsReport> {
  const { presetConfig } = await import('../../models/config');
  const { Embedder } = await import('../../models/embedder');
  const { Generator } = await import('../../models/generator');
  const { Discriminator } = await import('../../models/discriminator');
  const config = presetConfig(preset);
  const embedder = new Embedder(config);
  const generator = new Generator(config);
  const discriminator = new Discriminator(config, numVideos);
  const perVideo = config.embeddingSize;
  const report: ModelsReport = {
    preset,
    imageSize: config.imageSize,
    numVideos,
    embedder: embedder.countTrainableParams(),
    generator: generator.countTrainableParams(),
    projection: generator.psiLength * config.embeddingSize,
    psiLength: generator.psiLength,
    discriminator: discriminator.countTrainableParams() - perVideo * numVideos,
    perVideo,
  };
  for (const m of [embedder, generator, discriminator]) m.dispose();
  return report;
}

const millions = (n: number) => `${(n / 1e6).toFixed(2)}M`;

export function formatModelsReport(r: ModelsReport): string {
  const vsPort = (n: number, port: number) =>
    r.imageSize === 256
      ? `  (public port ${millions(port)}: ${((n / port - 1) * 100).toFixed(1)}%)`
      : '';
  return [
    `preset ${r.preset}, ${r.imageSize} px`,
    `embedder       ${millions(r.embedder).padStart(8)}${vsPort(r.embedder, PUBLIC_PORT_PARAMS.embedder)}`,
    `generator      ${millions(r.generator).padStart(8)}${vsPort(r.generator, PUBLIC_PORT_PARAMS.generator)}`,
    `  of which P   ${millions(r.projection).padStart(8)}  (psi has ${r.psiLength} AdaIN parameters)`,
    `discriminator  ${millions(r.discriminator).padStart(8)}${vsPort(r.discriminator, PUBLIC_PORT_PARAMS.discriminator)}`,
    `  plus ${r.perVideo} per training video (W column): ${millions(r.perVideo * r.numVideos)} for ${r.numVideos} videos`,
    '',
  ].join('\n');
}

export const modelsCommand = defineCommand({
  command: 'models',
  describe: 'Build the embedder, generator and discriminator of a preset and print their sizes',
  builder: (parser) =>
    parser
      .option('preset', {
        type: 'string',
        choices: ['paper', 'tiny'],
        default: 'paper',
        describe: 'Model preset',
      })
      .option('num-videos', {
        type: 'number',
        default: 1,
        describe: 'Training videos (columns of W)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of text' }),
  async run(args, ctx) {
    if (!Number.isInteger(args.numVideos) || args.numVideos < 1) {
      throw new UserError(`--num-videos must be a positive integer, got ${args.numVideos}`);
    }
    await ctx.initBackend();
    const report = await modelsReport(args.preset, args.numVideos);
    ctx.stdout.write(
      args.json ? JSON.stringify(report, null, 2) + '\n' : formatModelsReport(report),
    );
  },
});
