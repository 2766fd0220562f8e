// Which kinds of Weir's group and of Argo Rollouts' group Weir knows, as one
// check that weir lint and Git sync share: a document in weir.dev must be one
// of Weir's kinds at its version, and one of Argo Rollouts' kinds in
// argoproj.io must be at the version Weir reads (other argoproj.io kinds, Argo
// CD's Application for one, are not Weir's to judge). A near miss in case
// (`RollOut`) says what was meant. Also the API server's limit on the total
// size of an object's annotations, which otherwise surfaces only when the
// server refuses the object.
import { ARGO_API_VERSION, GROUP, VERSION } from './common.ts';
import { ARGO_KINDS } from './convert.ts';

/** Weir's kinds (weir.dev/v1alpha1). */
export const WEIR_KINDS: readonly string[] = ['Rollout', 'AnalysisTemplate', 'ClusterAnalysisTemplate', 'AnalysisRun', 'GitSource'];

const ARGO_GROUP = ARGO_API_VERSION.slice(0, ARGO_API_VERSION.indexOf('/'));
/** Argo Rollouts' kinds Weir does not run. */
const ARGO_UNSUPPORTED_KINDS: readonly string[] = ['Experiment'];

/** The Kubernetes API server's limit on the total size of an object's annotations (keys and values), 256 KiB. */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export interface KindProblem {
  field: 'apiVersion' | 'kind' | 'metadata.annotations';
  message: string;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function nearMiss(kind: string, kinds: readonly string[]): string {
  const match = kinds.find((k) => k.toLowerCase() === kind.toLowerCase());
  return match === undefined ? '' : ` (did you mean ${match}?)`;
}

/** What is wrong with an object's apiVersion and kind in Weir's or Argo Rollouts' group; undefined when nothing is (or the group is neither). */
export function kindProblem(apiVersion: unknown, kind: unknown): KindProblem | undefined {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  const group = groupOf(apiVersion);
  if (group === GROUP) {
    if (!WEIR_KINDS.includes(kind)) {
      return { field: 'kind', message: `${JSON.stringify(kind)} is not a kind Weir knows${nearMiss(kind, WEIR_KINDS)}: ${GROUP} has ${WEIR_KINDS.join(', ')}` };
    }
    if (apiVersion !== `${GROUP}/${VERSION}`) return { field: 'apiVersion', message: `${JSON.stringify(apiVersion)} is not a version Weir serves: use ${GROUP}/${VERSION}` };
    return undefined;
  }
  if (group !== ARGO_GROUP) return undefined;
  const argoKinds = [...ARGO_KINDS, ...ARGO_UNSUPPORTED_KINDS];
  const known = argoKinds.find((k) => k.toLowerCase() === kind.toLowerCase());
  if (known === undefined) return undefined; // another project's kind in argoproj.io (Argo CD, Workflows)
  if (known !== kind) return { field: 'kind', message: `${JSON.stringify(kind)} is not a kind of Argo Rollouts${nearMiss(kind, argoKinds)}` };
  if (ARGO_UNSUPPORTED_KINDS.includes(kind)) return { field: 'kind', message: `Argo Rollouts' ${kind} is not supported by Weir` };
  if (apiVersion !== ARGO_API_VERSION) return { field: 'apiVersion', message: `${JSON.stringify(apiVersion)} is not a version of Argo Rollouts' ${kind} that Weir reads: use ${ARGO_API_VERSION}` };
  return undefined;
}

/** Annotations over the API server's total limit (counted as it counts them: the bytes of every key and value). */
export function annotationsProblem(object: unknown): KindProblem | undefined {
  const meta = typeof object === 'object' && object !== null ? (object as { metadata?: unknown }).metadata : undefined;
  const annotations = typeof meta === 'object' && meta !== null ? (meta as { annotations?: unknown }).annotations : undefined;
  if (typeof annotations !== 'object' || annotations === null) return undefined;
  let bytes = 0;
  for (const [key, value] of Object.entries(annotations)) bytes += Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  if (bytes <= MAX_ANNOTATIONS_BYTES) return undefined;
  return { field: 'metadata.annotations', message: `take ${bytes} bytes, more than the ${MAX_ANNOTATIONS_BYTES} (256 KiB) Kubernetes allows in total` };
}
