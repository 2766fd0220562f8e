// The GitSource kind: a Git repository Weir pulls manifests from (url, ref,
// paths), how often, how to authenticate, whether to prune, and what to do
// in Git when a rollout from it is rolled back. Its status is the sync state:
// the revisions fetched, applied and rejected, the inventory of what was
// applied (for pruning), and conditions.
//
// `spec.ref` follows Flux's GitRepository `spec.ref` (branch, tag, commit;
// commit may be combined with branch, which names where to fetch it from).
// Defaults are in the schema (the CRD's structural defaults, applied by the
// API server) and in resolveGitSourceSpec, for objects that never went
// through an API server (manifests in Git, tests).
import Type, { type Static } from 'typebox';
import { Condition, ObjectMeta } from './common.ts';

export const GITSOURCE_DEFAULTS = {
  ref: { branch: 'main' },
  paths: ['.'],
  interval: '1m',
  timeout: '60s',
  prune: true,
  writeBack: 'none',
  onAnalysisError: 'retry',
  suspend: false,
} as const;

/** Condition types of a GitSource's status. */
export const GITSOURCE_CONDITIONS = {
  /** The last fetched revision is applied (True), or why not (False). */
  ready: 'Ready',
  /** The repository could not be fetched (network, auth, unknown ref). */
  sourceUnavailable: 'SourceUnavailable',
  /** The fetched revision has invalid manifests: nothing from it was applied. */
  validationFailed: 'ValidationFailed',
  /** Applying a valid revision failed part-way (the API server refused an object). */
  applyFailed: 'ApplyFailed',
  /** Git still holds a commit the cluster rejected: the revert is pending (True), or Git and the cluster agree (False). */
  gitOutOfSync: 'GitOutOfSync',
} as const;

/** What became of the write-back of a rejection: pushed, still to push (Git refused or was down), superseded by a newer commit, or not asked for. */
export const WriteBackState = Type.Union([Type.Literal('pending'), Type.Literal('pushed'), Type.Literal('superseded'), Type.Literal('none')]);
export type WriteBackState = Static<typeof WriteBackState>;

export const GitRef = Type.Object(
  {
    branch: Type.Optional(Type.String({ description: 'Branch to follow (the default is main). With commit: the branch the commit is fetched from.' })),
    tag: Type.Optional(Type.String({ description: 'Tag to check out.' })),
    commit: Type.Optional(Type.String({ description: 'Full commit SHA to check out; takes precedence over branch.' })),
  },
  { description: "Which revision to check out, as Flux's GitRepository spec.ref: branch, tag or commit.", default: { branch: GITSOURCE_DEFAULTS.ref.branch } },
);
export type GitRef = Static<typeof GitRef>;

export const WriteBackMode = Type.Union([Type.Literal('none'), Type.Literal('revert'), Type.Literal('branch')], {
  description: 'On rollback: none (Git keeps the rejected commit), revert (push a revert commit to the followed branch) or branch (push the revert to a new branch).',
});
export type WriteBackMode = Static<typeof WriteBackMode>;

export const AnalysisErrorPolicy = Type.Union([Type.Literal('retry'), Type.Literal('reject')], {
  description:
    'When a rollout aborts because an analysis run ended in Error (nothing was measured: the provider unreachable, queries erring): ' +
    'retry (the commit is Unverified, not rejected; the rollout is retried with backoff) or reject (as a Failed measurement: reject, roll back, write back).',
});
export type AnalysisErrorPolicy = Static<typeof AnalysisErrorPolicy>;

export const GitSourceSpec = Type.Object({
  url: Type.String({ description: 'HTTP(S) URL of the repository (no credentials in it: use secretRef).', pattern: '^https?://' }),
  ref: Type.Optional(GitRef),
  paths: Type.Optional(
    Type.Array(Type.String(), {
      description: 'Directories of the repository to read manifests from (*.yaml, *.yml), relative to its root.',
      default: [...GITSOURCE_DEFAULTS.paths],
    }),
  ),
  interval: Type.Optional(Type.String({ description: 'How often to fetch, a Go duration.', default: GITSOURCE_DEFAULTS.interval })),
  secretRef: Type.Optional(
    Type.Object(
      { name: Type.String() },
      { description: 'Secret in the same namespace with username and password, or token, for HTTP authentication. Never logged.' },
    ),
  ),
  timeout: Type.Optional(Type.String({ description: 'Timeout of a fetch, a Go duration.', default: GITSOURCE_DEFAULTS.timeout })),
  prune: Type.Optional(Type.Boolean({ description: 'Delete objects this source applied that are no longer in Git.', default: GITSOURCE_DEFAULTS.prune })),
  rollback: Type.Optional(
    Type.Object(
      { writeBack: Type.Optional(WriteBackMode), onAnalysisError: Type.Optional(AnalysisErrorPolicy) },
      // The defaults sit on the object: a CRD cannot carry one on an enum member of a union.
      {
        description: 'What Weir does when a rollout from this source fails: what it writes to Git, and whether an unmeasured release is rejected.',
        default: { writeBack: GITSOURCE_DEFAULTS.writeBack, onAnalysisError: GITSOURCE_DEFAULTS.onAnalysisError },
      },
    ),
  ),
  suspend: Type.Optional(Type.Boolean({ description: 'Stop fetching and applying (what is applied stays).', default: GITSOURCE_DEFAULTS.suspend })),
});
export type GitSourceSpec = Static<typeof GitSourceSpec>;

/** A Kubernetes object by identity (inventory entries, pruning, drift). */
export const ObjectRef = Type.Object({
  apiVersion: Type.String(),
  kind: Type.String(),
  namespace: Type.Optional(Type.String({ description: 'absent for cluster-scoped objects' })),
  name: Type.String(),
});
export type ObjectRef = Static<typeof ObjectRef>;

const Revision = (description: string) => Type.String({ description });
const Timestamp = Type.String({ format: 'date-time' });

export const GitSourceStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer()),
  lastFetchedRevision: Type.Optional(Revision('Commit SHA the ref pointed at when last fetched.')),
  lastAppliedRevision: Type.Optional(Revision('Commit SHA whose manifests were last applied in full (except the directories in heldBack).')),
  lastAppliedShortRevision: Type.Optional(Revision('lastAppliedRevision shortened, for kubectl get.')),
  lastAttemptedRevision: Type.Optional(Revision('Commit SHA last validated or applied, successfully or not.')),
  rejectedRevisions: Type.Optional(
    Type.Array(
      Type.Object({
        revision: Type.String(),
        tree: Type.Optional(Type.String({ description: "the commit's tree: a commit with the same tree (a force-pushed copy) is rejected too" })),
        rollout: Type.String({ description: 'name of the Rollout whose failure rejected the revision' }),
        reason: Type.String(),
        at: Timestamp,
        rollbackTo: Type.Optional(Type.String({ description: 'the last good commit the cluster goes back to' })),
        scope: Type.Optional(
          Type.String({
            description:
              "the directory of the failed Rollout's file: only the objects under it go back to rollbackTo, its neighbours stay as Git says. Absent: the whole source (the Rollout's file is at a root of spec.paths)",
          }),
        ),
        scopeDigest: Type.Optional(
          Type.String({ description: "digest of the rejected commit's manifests under scope: while a later commit holds the same there, it stays held back" }),
        ),
        writeBack: Type.Optional(WriteBackState),
        writeBackError: Type.Optional(Type.String({ description: 'why the last write-back attempt failed (while pending)' })),
      }),
      { description: 'Commits a failed rollout rejected: never applied again. Recorded before the rollback, so a restart never rolls one out again.' },
    ),
  ),
  unverifiedRevisions: Type.Optional(
    Type.Array(
      Type.Object({
        revision: Type.String(),
        rollout: Type.String({ description: 'the Rollout whose analysis could not measure the release' }),
        reason: Type.String(),
        at: Timestamp,
        attempts: Type.Integer({ minimum: 0, description: 'automatic retries so far' }),
        nextRetryAt: Type.Optional(Type.String({ format: 'date-time', description: 'when the next automatic retry is due (absent once the retries are used up)' })),
      }),
      { description: 'Commits whose rollout aborted on an analysis Error (onAnalysisError: retry): neither promoted nor rejected, retried with backoff.' },
    ),
  ),
  heldBack: Type.Optional(
    Type.Array(
      Type.Object({
        path: Type.String({ description: 'the directory held back' }),
        revision: Type.String({ description: 'the last good commit its objects were applied from' }),
        rejected: Type.String({ description: 'the rejected commit whose content Git still holds there' }),
        rollout: Type.String({ description: 'the Rollout whose failure rejected it' }),
      }),
      {
        description:
          'Directories applied from their last good commit instead of lastAppliedRevision, because Git still holds there what a failed rollout rejected. Everything else is lastAppliedRevision.',
      },
    ),
  ),
  revertRevisions: Type.Optional(
    Type.Array(
      Type.Object({
        rejected: Type.String({ description: 'the rejected commit' }),
        revert: Type.String({ description: 'the revert commit Weir wrote' }),
        branch: Type.Optional(Type.String({ description: 'the branch the revert was pushed to' })),
        at: Timestamp,
      }),
    ),
  ),
  paths: Type.Optional(
    Type.Array(
      Type.Object({
        path: Type.String(),
        documents: Type.Integer({ minimum: 0, description: 'manifests read from the directory' }),
        applied: Type.Integer({ minimum: 0, description: 'of those, applied in the last revision' }),
      }),
    ),
  ),
  history: Type.Optional(
    Type.Array(
      Type.Object({
        revision: Type.String(),
        outcome: Type.Union([Type.Literal('applied'), Type.Literal('promoted'), Type.Literal('rejected'), Type.Literal('unverified'), Type.Literal('superseded')]),
        reason: Type.Optional(Type.String()),
        appliedAt: Timestamp,
        author: Type.Optional(Type.String()),
        message: Type.Optional(Type.String({ description: 'the commit subject' })),
        committedAt: Type.Optional(Type.String()),
      }),
      { description: 'The revisions applied, oldest first (at most 50), and what became of each.' },
    ),
  ),
  conditions: Type.Optional(Type.Array(Condition)),
  inventory: Type.Optional(Type.Array(ObjectRef, { description: 'Objects applied from lastAppliedRevision, for pruning.' })),
  lastDriftCorrection: Type.Optional(
    Type.Object({
      time: Timestamp,
      objects: Type.Array(
        Type.Object({
          apiVersion: Type.String(),
          kind: Type.String(),
          namespace: Type.Optional(Type.String()),
          name: Type.String(),
          fields: Type.Optional(Type.Array(Type.String(), { description: 'what had drifted, e.g. "spec.ports[0].port: 8080 → 80"' })),
        }),
      ),
    }),
  ),
});
export type GitSourceStatus = Static<typeof GitSourceStatus>;

export const GitSource = Type.Object({
  apiVersion: Type.String(),
  kind: Type.Literal('GitSource'),
  metadata: ObjectMeta,
  spec: GitSourceSpec,
  status: Type.Optional(GitSourceStatus),
});
export type GitSource = Static<typeof GitSource>;

/** A GitSource spec with every default filled in. */
export interface ResolvedGitSourceSpec {
  url: string;
  ref: GitRef;
  paths: string[];
  interval: string;
  secretRef?: { name: string };
  timeout: string;
  prune: boolean;
  rollback: { writeBack: WriteBackMode; onAnalysisError: AnalysisErrorPolicy };
  suspend: boolean;
}

/** The spec with the defaults the CRD declares (pure; the input is not modified). */
export function resolveGitSourceSpec(spec: GitSourceSpec): ResolvedGitSourceSpec {
  const ref = spec.ref ?? GITSOURCE_DEFAULTS.ref;
  return {
    url: spec.url,
    ref: { ...ref },
    paths: [...(spec.paths ?? GITSOURCE_DEFAULTS.paths)],
    interval: spec.interval ?? GITSOURCE_DEFAULTS.interval,
    ...(spec.secretRef ? { secretRef: { name: spec.secretRef.name } } : {}),
    timeout: spec.timeout ?? GITSOURCE_DEFAULTS.timeout,
    prune: spec.prune ?? GITSOURCE_DEFAULTS.prune,
    rollback: {
      writeBack: spec.rollback?.writeBack ?? GITSOURCE_DEFAULTS.writeBack,
      onAnalysisError: spec.rollback?.onAnalysisError ?? GITSOURCE_DEFAULTS.onAnalysisError,
    },
    suspend: spec.suspend ?? GITSOURCE_DEFAULTS.suspend,
  };
}

/** The short form of a commit SHA shown by `kubectl get gitsources` (12 characters, like Flux's short revisions). */
export function shortRevision(revision: string): string {
  return revision.slice(0, 12);
}
