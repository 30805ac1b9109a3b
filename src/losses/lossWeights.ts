/** The weight of each loss term; defaults are the paper's (docs/method.md, Losses). */
export interface LossWeights {
  /** Feature matching inside L_ADV. */
  featureMatching: number;
  /** L_MCH, embedding to W column. */
  embeddingMatch: number;
  /** L_CNT's VGG19 (ImageNet) term. */
  vgg19: number;
  /** L_CNT's VGG-Face term. */
  vggface: number;
  /**
   * L_CNT's face-api term: the offline stand-in when no VGG weights are given. Not in the paper;
   * the default is VGG19's weight; the CPU configs raise it (configs/tiny.yaml, cpu128.yaml).
   */
  faceapi: number;
}

export const PAPER_LOSS_WEIGHTS: Readonly<LossWeights> = {
  featureMatching: 10,
  embeddingMatch: 80,
  vgg19: 1e-2,
  vggface: 2e-3,
  faceapi: 1e-2,
};
