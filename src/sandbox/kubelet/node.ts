// The Node object the stand-in registers, and its heartbeat.
import type { CoreV1Api } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { kubeErrorCode } from '../../cluster/errors.ts';
import { kubernetesVersion } from '../paths.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function nodeStatus(now: string, since: string) {
  const condition = (type: string, status: 'True' | 'False', reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: now,
    lastTransitionTime: since,
  });
  const resources = { cpu: '32', memory: '64Gi', pods: '250', 'ephemeral-storage': '100Gi' };
  return {
    capacity: resources,
    allocatable: resources,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      condition('Ready', 'True', 'KubeletReady', 'weir sandbox kubelet stand-in is posting ready status'),
    ],
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: 'localhost' },
    ],
    nodeInfo: {
      machineID: 'weir-sandbox',
      systemUUID: 'weir-sandbox',
      bootID: 'weir-sandbox',
      kernelVersion: '',
      osImage: 'weir sandbox',
      containerRuntimeVersion: 'weir-sandbox://1',
      kubeletVersion: `v${kubernetesVersion()}`,
      operatingSystem: 'linux',
      architecture: 'amd64',
    },
  };
}

export async function registerNode(core: CoreV1Api, name: string, podCidr: string): Promise<string> {
  const since = new Date().toISOString();
  try {
    await core.createNode({
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'node.weir.dev/sandbox': 'true',
          },
        },
        spec: { podCIDR: podCidr, podCIDRs: [podCidr] },
      },
    });
  } catch (err) {
    if (kubeErrorCode(err) !== 409) throw err;
  }
  await heartbeat(core, name, since);
  return since;
}

/** Posts the node's status; the node lifecycle controller reads lastHeartbeatTime. */
export async function heartbeat(core: CoreV1Api, name: string, since: string): Promise<void> {
  await core.patchNodeStatus({ name, body: { status: nodeStatus(new Date().toISOString(), since) } }, mergePatch);
}
