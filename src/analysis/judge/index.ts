// Weir's own canary judge: Mann–Whitney classification per metric and a
// weighted score, after Kayenta's NetflixACAJudge. Pure: no I/O, clock or randomness.

export {
  erfc,
  hodgesLehmann,
  mannWhitneyCdf,
  mannWhitneyDistribution,
  mannWhitneyTest,
  mannWhitneyU,
  mean,
  meanRatio,
  median,
  medianRatio,
  normalCdf,
  normalPdf,
  normalQuantile,
  normalSf,
  outlierFences,
  pairwiseDifferences,
  quantile,
  rank,
  removeOutliers,
  sortAscending,
  tieSum,
} from './statistics.ts';
export type { MannWhitneyOptions, MannWhitneyResult, OutlierOptions } from './statistics.ts';
export { classifyMetric, DEFAULT_CONFIDENCE, DEFAULT_EFFECT_SIZE, DEFAULT_OUTLIER_FACTOR, DEFAULT_TOLERANCE } from './classifier.ts';
export type { EffectSizeConfig, MetricClassification, MetricClassificationLabel, MetricConfig, MetricDirection } from './classifier.ts';
export { judge, NODATA_FAIL_PERCENT } from './judge.ts';
export type { JudgeMetric, JudgeResult, MetricResult, ScoreThresholds, Verdict } from './judge.ts';
