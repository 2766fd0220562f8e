import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1ObjectMeta, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { podTargetGroups, sanitizeLabelName, type TargetGroup } from './pod-discovery.ts';

function demoPod(): V1Pod {
  return {
    metadata: {
      name: 'web-5f7c9-abcde',
      namespace: 'shop',
      uid: '11111111-2222-3333-4444-555555555555',
      labels: { 'app.kubernetes.io/name': 'web', 'pod-template-hash': '5f7c9' },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'not-the-controller', uid: 'cm' },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5f7c9', uid: 'rs', controller: true },
      ],
    },
    spec: {
      nodeName: 'weir-sandbox',
      containers: [
        {
          name: 'app',
          image: 'weir-demo:v2',
          ports: [
            { name: 'http', containerPort: 8080, protocol: 'TCP' },
            { name: 'dns', containerPort: 5353, protocol: 'UDP' },
          ],
        },
        { name: 'sidecar', image: 'busybox:1.36' },
      ],
    },
    status: {
      phase: 'Running',
      podIP: '127.42.0.2',
      hostIP: '127.0.0.1',
      conditions: [
        { type: 'PodScheduled', status: 'True' },
        { type: 'Ready', status: 'True' },
      ],
    },
  };
}

function metadataOf(pod: V1Pod): V1ObjectMeta {
  assert.ok(pod.metadata);
  return pod.metadata;
}

function statusOf(pod: V1Pod): V1PodStatus {
  assert.ok(pod.status);
  return pod.status;
}

function groupAt(groups: TargetGroup[], index: number): TargetGroup {
  const group = groups[index];
  assert.ok(group, `no target group ${index}`);
  return group;
}

/** The labels kubernetes_sd_configs (role: pod) attaches to every target of the demo pod. */
const demoPodLabels = {
  __meta_kubernetes_namespace: 'shop',
  __meta_kubernetes_pod_name: 'web-5f7c9-abcde',
  __meta_kubernetes_pod_ip: '127.42.0.2',
  __meta_kubernetes_pod_uid: '11111111-2222-3333-4444-555555555555',
  __meta_kubernetes_pod_node_name: 'weir-sandbox',
  __meta_kubernetes_pod_host_ip: '127.0.0.1',
  __meta_kubernetes_pod_phase: 'Running',
  __meta_kubernetes_pod_ready: 'true',
  __meta_kubernetes_pod_label_app_kubernetes_io_name: 'web',
  __meta_kubernetes_pod_labelpresent_app_kubernetes_io_name: 'true',
  __meta_kubernetes_pod_label_pod_template_hash: '5f7c9',
  __meta_kubernetes_pod_labelpresent_pod_template_hash: 'true',
  __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
  __meta_kubernetes_pod_annotationpresent_prometheus_io_scrape: 'true',
  __meta_kubernetes_pod_annotation_prometheus_io_port: '8080',
  __meta_kubernetes_pod_annotationpresent_prometheus_io_port: 'true',
  __meta_kubernetes_pod_controller_kind: 'ReplicaSet',
  __meta_kubernetes_pod_controller_name: 'web-5f7c9',
};

describe('podTargetGroups', () => {
  it('makes one target per declared port and one portless target for a container without ports', () => {
    const groups = podTargetGroups(demoPod());
    assert.deepEqual(
      groups.map((g) => g.targets),
      [['127.42.0.2:8080'], ['127.42.0.2:5353'], ['127.42.0.2']],
    );
  });

  it('attaches exactly the role=pod labels to a port target', () => {
    assert.deepEqual(groupAt(podTargetGroups(demoPod()), 0).labels, {
      ...demoPodLabels,
      __meta_kubernetes_pod_container_name: 'app',
      __meta_kubernetes_pod_container_image: 'weir-demo:v2',
      __meta_kubernetes_pod_container_port_name: 'http',
      __meta_kubernetes_pod_container_port_number: '8080',
      __meta_kubernetes_pod_container_port_protocol: 'TCP',
    });
  });

  it('describes each port of a container separately', () => {
    const labels = groupAt(podTargetGroups(demoPod()), 1).labels;
    assert.equal(labels.__meta_kubernetes_pod_container_name, 'app');
    assert.equal(labels.__meta_kubernetes_pod_container_port_name, 'dns');
    assert.equal(labels.__meta_kubernetes_pod_container_port_number, '5353');
    assert.equal(labels.__meta_kubernetes_pod_container_port_protocol, 'UDP');
  });

  it('gives the portless target the pod and container labels but no port labels', () => {
    assert.deepEqual(groupAt(podTargetGroups(demoPod()), 2).labels, {
      ...demoPodLabels,
      __meta_kubernetes_pod_container_name: 'sidecar',
      __meta_kubernetes_pod_container_image: 'busybox:1.36',
    });
  });

  it('defaults an unnamed port to an empty name and a missing protocol to TCP', () => {
    const pod = demoPod();
    pod.spec = { containers: [{ name: 'app', image: 'weir-demo:v2', ports: [{ containerPort: 9000 }] }] };
    const groups = podTargetGroups(pod);
    assert.equal(groups.length, 1);
    const group = groupAt(groups, 0);
    assert.deepEqual(group.targets, ['127.42.0.2:9000']);
    assert.equal(group.labels.__meta_kubernetes_pod_container_port_name, '');
    assert.equal(group.labels.__meta_kubernetes_pod_container_port_number, '9000');
    assert.equal(group.labels.__meta_kubernetes_pod_container_port_protocol, 'TCP');
  });

  it('sanitises label and annotation names and marks them present, even with empty values', () => {
    const pod = demoPod();
    metadataOf(pod).labels = { 'example.com/tier': 'frontend', empty: '' };
    metadataOf(pod).annotations = { 'prometheus.io/path': '/metrics', 'a-b.c/d_e': 'x' };
    const labels = groupAt(podTargetGroups(pod), 0).labels;
    assert.equal(labels.__meta_kubernetes_pod_label_example_com_tier, 'frontend');
    assert.equal(labels.__meta_kubernetes_pod_labelpresent_example_com_tier, 'true');
    assert.equal(labels.__meta_kubernetes_pod_label_empty, '');
    assert.equal(labels.__meta_kubernetes_pod_labelpresent_empty, 'true');
    assert.equal(labels.__meta_kubernetes_pod_annotation_prometheus_io_path, '/metrics');
    assert.equal(labels.__meta_kubernetes_pod_annotationpresent_prometheus_io_path, 'true');
    assert.equal(labels.__meta_kubernetes_pod_annotation_a_b_c_d_e, 'x');
    assert.equal(labels.__meta_kubernetes_pod_annotationpresent_a_b_c_d_e, 'true');
    // The demo pod's own labels and annotations were replaced.
    assert.equal(labels.__meta_kubernetes_pod_label_app_kubernetes_io_name, undefined);
    assert.equal(labels.__meta_kubernetes_pod_annotation_prometheus_io_scrape, undefined);
  });

  it('reports ready "false" when the Ready condition is False', () => {
    const pod = demoPod();
    statusOf(pod).conditions = [
      { type: 'Ready', status: 'False' },
      { type: 'ContainersReady', status: 'True' },
    ];
    for (const group of podTargetGroups(pod)) assert.equal(group.labels.__meta_kubernetes_pod_ready, 'false');
  });

  it('reports ready "unknown" when the pod has no Ready condition, as Prometheus does', () => {
    const pod = demoPod();
    statusOf(pod).conditions = [{ type: 'PodScheduled', status: 'True' }];
    for (const group of podTargetGroups(pod)) assert.equal(group.labels.__meta_kubernetes_pod_ready, 'unknown');
  });

  it('reports the phase', () => {
    const pod = demoPod();
    statusOf(pod).phase = 'Pending';
    assert.equal(groupAt(podTargetGroups(pod), 0).labels.__meta_kubernetes_pod_phase, 'Pending');
  });

  it('omits the controller labels when no owner is the controller', () => {
    const pod = demoPod();
    metadataOf(pod).ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'cm', controller: false }];
    const labels = groupAt(podTargetGroups(pod), 0).labels;
    assert.equal('__meta_kubernetes_pod_controller_kind' in labels, false);
    assert.equal('__meta_kubernetes_pod_controller_name' in labels, false);
  });

  it('reports a StatefulSet controller', () => {
    const pod = demoPod();
    metadataOf(pod).ownerReferences = [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db', uid: 'ss', controller: true }];
    const labels = groupAt(podTargetGroups(pod), 0).labels;
    assert.equal(labels.__meta_kubernetes_pod_controller_kind, 'StatefulSet');
    assert.equal(labels.__meta_kubernetes_pod_controller_name, 'db');
  });

  it('produces no groups for a pod without an IP', () => {
    const pod = demoPod();
    pod.status = { phase: 'Pending' };
    assert.deepEqual(podTargetGroups(pod), []);
    pod.status = { phase: 'Pending', podIP: '' };
    assert.deepEqual(podTargetGroups(pod), []);
    assert.deepEqual(podTargetGroups({ metadata: { name: 'bare' } }), []);
  });

  it('produces no groups for a pod without containers', () => {
    const pod = demoPod();
    pod.spec = { containers: [] };
    assert.deepEqual(podTargetGroups(pod), []);
  });

  it('gives every group its own labels object', () => {
    const groups = podTargetGroups(demoPod());
    groupAt(groups, 0).labels.__meta_kubernetes_pod_name = 'changed';
    assert.equal(groupAt(groups, 1).labels.__meta_kubernetes_pod_name, 'web-5f7c9-abcde');
    assert.equal(groupAt(groups, 2).labels.__meta_kubernetes_pod_name, 'web-5f7c9-abcde');
  });
});

describe('sanitizeLabelName', () => {
  it('replaces every character outside [a-zA-Z0-9_] with "_"', () => {
    assert.equal(sanitizeLabelName('app.kubernetes.io/name'), 'app_kubernetes_io_name');
    assert.equal(sanitizeLabelName('prometheus.io/scrape'), 'prometheus_io_scrape');
    assert.equal(sanitizeLabelName('pod-template-hash'), 'pod_template_hash');
    assert.equal(sanitizeLabelName('a b:c'), 'a_b_c');
    assert.equal(sanitizeLabelName('a..b'), 'a__b');
  });

  it('keeps valid names unchanged', () => {
    assert.equal(sanitizeLabelName('Already_Valid_09'), 'Already_Valid_09');
    assert.equal(sanitizeLabelName(''), '');
  });
});
