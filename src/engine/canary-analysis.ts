// The canary's AnalysisRuns: the run of an analysis step and the background
// run (from analysis.startingStep while an update is in progress), their
// verdicts (Failed/Error abort, Inconclusive pauses until `weir promote`),
// and which runs are current. The runs themselves are built and adopted in
// analysis.ts, created through the frame's Reconcile.ensureRun.
import type { CanaryStep, CanaryStrategy } from '../api/rollout.ts';
import { describeOutcome, INCONCLUSIVE_PAUSE, isAttemptOf, runBaseName, runOutcome } from './analysis.ts';
import type { Canary, CanaryReconcile } from './canary.ts';
import type { LifecycleState } from './machine.ts';
import { stepKind } from './steps.ts';

/** A step's verdict, as the step evaluation takes it. */
export type AnalysisVerdict =
  | { type: 'none' }
  | { type: 'stepCompleted'; pause: boolean }
  | { type: 'analysisFailed'; message: string }
  | { type: 'analysisInconclusive'; message: string };

/** The background analysis of the strategy, when it names templates. */
function backgroundAnalysis(c: Canary): NonNullable<CanaryStrategy['analysis']> | undefined {
  const a = c.canary.analysis;
  return a?.templates !== undefined && a.templates.length > 0 ? a : undefined;
}

/** Background analysis runs from startingStep while an update is in progress (not a first deploy, not a full promotion). */
export function backgroundActive(c: Canary, r: CanaryReconcile): boolean {
  const a = backgroundAnalysis(c);
  if (a === undefined || r.stableHash === undefined || r.stableHash === c.f.hash || r.promoteFull) return false;
  const s = r.state;
  if (s !== 'progressing' && s !== 'pausedStep' && s !== 'pausedUser' && s !== 'completing' && s !== 'degraded') return false;
  return r.stepIndex >= (a.startingStep ?? 0);
}

function backgroundBase(c: Canary): string {
  return runBaseName(c.f.name, c.f.hash, c.f.revision, 'Background');
}

function stepBase(c: Canary, index: number): string {
  return runBaseName(c.f.name, c.f.hash, c.f.revision, 'Step', index);
}

/** The current step's analysis, when the rollout is at an analysis step. */
function currentStepAnalysis(c: Canary, r: CanaryReconcile): NonNullable<CanaryStep['analysis']> | undefined {
  const s = r.state;
  if (s !== 'progressing' && s !== 'pausedStep' && s !== 'pausedUser') return undefined;
  const step = c.steps[r.stepIndex];
  return step !== undefined && stepKind(step) === 'analysis' ? step.analysis : undefined;
}

/** An AnalysisRun was inconclusive: pause with AnalysisRunInconclusive until `weir promote` (or abort). */
export function pauseForAnalysis(r: CanaryReconcile, message: string): void {
  r.pauseFor(INCONCLUSIVE_PAUSE);
  if (r.state !== 'pausedStep') r.send({ type: 'ANALYSIS_INCONCLUSIVE', message });
}

/** The background run's verdict: Failed/Error abort, Inconclusive pauses; a promote after an inconclusive pause starts a new run. */
export function judgeBackgroundAnalysis(c: Canary, r: CanaryReconcile): void {
  const record = r.backgroundRun;
  if (!backgroundActive(c, r) || record === undefined || !isAttemptOf(record.name, backgroundBase(c))) return;
  const s = r.state;
  switch (runOutcome(record)) {
    case 'failed':
      if (s !== 'pausedUser' || c.f.rollout.spec.paused !== true) r.send({ type: 'ANALYSIS_FAILED', message: describeOutcome('background', record) });
      return;
    case 'inconclusive':
      if (s === 'pausedStep' && r.pauseConditions.length === 0 && r.controllerPause) {
        // The user promoted: carry on, measuring again with a new run.
        r.backgroundRun = undefined;
        r.send({ type: 'INCONCLUSIVE_RESOLVED' });
      } else if (!r.hasPause(INCONCLUSIVE_PAUSE) && (s === 'progressing' || s === 'completing' || s === 'pausedStep')) {
        pauseForAnalysis(r, describeOutcome('background', record));
      }
      return;
    default:
      return;
  }
}

/** An analysis step completes when its run is Successful, aborts on Failed/Error, pauses on Inconclusive. */
export function stepAnalysisVerdict(c: Canary, r: CanaryReconcile, mode: LifecycleState, index: number): AnalysisVerdict {
  const record = r.stepRun;
  if (record === undefined || !isAttemptOf(record.name, stepBase(c, index))) return { type: 'none' };
  switch (runOutcome(record)) {
    case 'successful':
      return { type: 'stepCompleted', pause: false };
    case 'failed':
      return { type: 'analysisFailed', message: describeOutcome('step', record) };
    case 'inconclusive':
      // Pause conditions cleared while the controller's pause stands: the user promoted past the inconclusive result.
      if (mode === 'pausedStep' && !r.hasPause(INCONCLUSIVE_PAUSE) && r.controllerPause) return { type: 'stepCompleted', pause: true };
      if (mode === 'progressing' && !r.hasPause(INCONCLUSIVE_PAUSE)) return { type: 'analysisInconclusive', message: describeOutcome('step', record) };
      return { type: 'none' };
    default:
      return { type: 'none' };
  }
}

export function ensureBackgroundRun(c: Canary, r: CanaryReconcile): void {
  const analysis = backgroundAnalysis(c);
  if (analysis === undefined || !backgroundActive(c, r) || r.analysisEffects.some((e) => e.type === 'createAnalysisRun' && isAttemptOf(e.run.metadata.name, backgroundBase(c)))) return;
  r.backgroundRun = r.ensureRun({ analysis, type: 'Background', kind: 'background', base: backgroundBase(c), record: r.backgroundRun, mayCreate: r.state !== 'pausedUser' });
}

export function ensureStepRun(c: Canary, r: CanaryReconcile): void {
  const analysis = currentStepAnalysis(c, r);
  if (analysis === undefined) return;
  const index = r.stepIndex;
  r.stepRun = r.ensureRun({ analysis, type: 'Step', kind: 'step', base: stepBase(c, index), record: r.stepRun, mayCreate: r.state === 'progressing', stepIndex: index });
}

/** The runs still current: the others are stopped. */
export function currentRuns(c: Canary, r: CanaryReconcile): Set<string> {
  const current = new Set<string>();
  if (r.stepRun !== undefined && currentStepAnalysis(c, r) !== undefined && isAttemptOf(r.stepRun.name, stepBase(c, r.stepIndex))) current.add(r.stepRun.name);
  if (r.backgroundRun !== undefined && backgroundActive(c, r) && isAttemptOf(r.backgroundRun.name, backgroundBase(c))) current.add(r.backgroundRun.name);
  return current;
}
