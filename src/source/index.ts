// Git source: fetching commits from a repository, reading the manifests at a
// commit, history, and writing reverts back.
export {
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_FILES,
  DEFAULT_MAX_PACKS,
  GitMirror,
  normalizeRepoPath,
  revertBranchName,
  revertMessage,
  WEIR_AUTHOR,
} from './git-mirror.ts';
export type {
  GitCommitInfo,
  GitMirrorOptions,
  GitPerson,
  ReadFilesLimits,
  ReadFilesResult,
  RevertOptions,
  SourceFile,
  SourceProblem,
} from './git-mirror.ts';
export { GitSourceError, scrubSecrets, toGitSourceError } from './errors.ts';
export type { GitSourceErrorKind } from './errors.ts';
export {
  createGitHttpClient,
  DEFAULT_HTTP_TIMEOUT_MS,
  diffHttpStats,
  GitTransportError,
  newHttpStats,
  redactUrl,
  snapshotHttpStats,
} from './http-client.ts';
export type { GitHttpClient, GitHttpClientOptions, GitTransportErrorKind, HttpStats } from './http-client.ts';
export { mirrorKey, resolveRemote, TOKEN_USERNAME } from './remote.ts';
export type { GitAuth, GitRemote, ResolvedRemote } from './remote.ts';
