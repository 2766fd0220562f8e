// The local platform used by tests and the demo: real servers on loopback.
export { sandboxUp, sandboxDown, sandboxStatus, envLines, liveState, stopGroup, type UpResult } from './lifecycle.ts';
export { instanceDir, instanceFiles, kubernetesBinDir, kubernetesVersion, sandboxBinary, sandboxToolRelease, crdManifestsDir, gatewayApiManifestsDir } from './paths.ts';
export { CRD_MANIFEST_TOOLS, type CrdManifestTool, type CrdManifestSet } from './tool-versions.ts';
export { readState, type SandboxState } from './state.ts';
export { processGroupMembers, pidAlive } from './processes.ts';
export { mintServiceAccountToken } from './tokens.ts';
export { createSandboxRepository, type SandboxRepositoryOptions } from './repositories.ts';
export type { PushWebhook } from './push-webhook.ts';
