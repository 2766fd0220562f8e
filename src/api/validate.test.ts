import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Settings } from 'typebox/system';
import { parseManifests } from './manifests.ts';
import {
  formatFieldPath,
  parseFieldPath,
  templateReferences,
  validateAnalysisTemplate,
  validateClusterAnalysisTemplate,
  validateRollout,
  type FieldError,
  type QueryChecker,
} from './validate.ts';

type Obj = Record<string, unknown>;

/** A valid Rollout: canary with the Gateway API plugin and every supported step. */
function base(): Obj {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'app', namespace: 'shop', labels: { 'app.kubernetes.io/name': 'app' } },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'app' } },
      template: {
        metadata: { labels: { app: 'app' } },
        spec: { containers: [{ name: 'app', image: 'weir-demo:v1' }] },
      },
      strategy: {
        canary: {
          stableService: 'app-stable',
          canaryService: 'app-canary',
          trafficRouting: { plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: 'app' } } },
          analysis: { templates: [{ templateName: 'success-rate' }], startingStep: 1 },
          steps: [
            { setCanaryScale: { replicas: 1 } },
            { setWeight: 20 },
            { pause: { duration: '1m' } },
            { analysis: { templates: [{ templateName: 'latency' }], args: [{ name: 'svc', value: 'app-canary' }] } },
            { pause: {} },
          ],
        },
      },
    },
  };
}

/** The object at a dotted path of `o`, created on the way. */
function at(o: Obj, path: string): Obj {
  let node: Obj = o;
  for (const segment of parseFieldPath(path)) {
    const next = (node as Record<string | number, unknown>)[segment];
    if (typeof next !== 'object' || next === null) throw new Error(`no object at ${path}`);
    node = next as Obj;
  }
  return node;
}

function errorsOf(mutate: (r: Obj) => void): FieldError[] {
  const r = base();
  mutate(r);
  return validateRollout(r).errors;
}

function assertError(errors: FieldError[], path: string, message: RegExp): void {
  assert.ok(
    errors.some((e) => e.path === path && message.test(e.message)),
    `expected ${path}: ${String(message)}; got\n${errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`,
  );
}

describe('validateRollout', () => {
  it('accepts a valid Rollout and returns it', () => {
    const result = validateRollout(base());
    assert.deepEqual(result.errors, []);
    assert.equal(result.rollout?.metadata.name, 'app');
  });

  it('accepts every Rollout under examples/rollouts', () => {
    for (const name of ['canary-gateway-api.yaml', 'canary-basic.yaml']) {
      const file = new URL(`../../examples/rollouts/${name}`, import.meta.url);
      const parsed = parseManifests(readFileSync(file, 'utf8'), name);
      assert.deepEqual(parsed.errors, []);
      const rollouts = parsed.documents.filter((d) => (d.object as Obj | null)?.kind === 'Rollout');
      assert.equal(rollouts.length, 1, name);
      for (const doc of rollouts) assert.deepEqual(validateRollout(doc.object).errors, [], name);
    }
  });

  it('accepts an argoproj.io/v1alpha1 Rollout as it is', () => {
    assert.deepEqual(errorsOf((r) => (r.apiVersion = 'argoproj.io/v1alpha1')), []);
  });

  it('drops null fields as the API server does', () => {
    const result = validateRollout({ ...base(), status: null, spec: { ...(base().spec as Obj), paused: null, restartAt: null } });
    assert.deepEqual(result.errors, []);
    assert.equal('paused' in (result.rollout?.spec ?? {}), false);
  });

  // One rule each: mutation → the field path and message expected.
  const rules: [string, (r: Obj) => void, string, RegExp][] = [
    ['kind', (r) => (r.kind = 'Deployment'), 'kind', /must be "Rollout"/],
    ['apiVersion', (r) => (r.apiVersion = 'weir.dev/v1'), 'apiVersion', /must be weir\.dev\/v1alpha1/],
    ['metadata.name required', (r) => delete at(r, 'metadata').name, 'metadata.name', /required/],
    ['metadata.name syntax', (r) => (at(r, 'metadata').name = 'App_1'), 'metadata.name', /DNS-1123 subdomain/],
    ['metadata.namespace syntax', (r) => (at(r, 'metadata').namespace = 'a.b'), 'metadata.namespace', /DNS-1123 label/],
    ['label value syntax', (r) => (at(r, 'metadata.labels').team = 'a b'), 'metadata.labels.team', /valid label value/],
    ['label key syntax', (r) => (at(r, 'metadata.labels')['-bad'] = 'x'), 'metadata.labels["-bad"]', /valid key/],
    ['replicas >= 0', (r) => (at(r, 'spec').replicas = -1), 'spec.replicas', /must not be negative/],
    ['replicas integer', (r) => (at(r, 'spec').replicas = 1.5), 'spec.replicas', /must be an integer \(got 1\.5\)/],
    ['minReadySeconds >= 0', (r) => (at(r, 'spec').minReadySeconds = -1), 'spec.minReadySeconds', /must not be negative/],
    ['revisionHistoryLimit >= 0', (r) => (at(r, 'spec').revisionHistoryLimit = -2), 'spec.revisionHistoryLimit', /must not be negative/],
    ['progressDeadlineSeconds > minReadySeconds', (r) => Object.assign(at(r, 'spec'), { minReadySeconds: 30, progressDeadlineSeconds: 20 }), 'spec.progressDeadlineSeconds', /greater than minReadySeconds \(30\)/],
    ['default progressDeadlineSeconds > minReadySeconds', (r) => (at(r, 'spec').minReadySeconds = 600), 'spec.progressDeadlineSeconds', /when unset it is 600/],
    ['restartAt date-time', (r) => (at(r, 'spec').restartAt = '2024-13-01'), 'spec.restartAt', /RFC 3339 date-time/],
    ['workloadRef', (r) => (at(r, 'spec').workloadRef = { kind: 'Deployment', name: 'x' }), 'spec.workloadRef', /not supported by Weir/],
    ['rollbackWindow', (r) => (at(r, 'spec').rollbackWindow = { revisions: 2 }), 'spec.rollbackWindow', /not supported by Weir/],
    ['selector required', (r) => delete at(r, 'spec').selector, 'spec.selector', /required/],
    ['selector non-empty', (r) => (at(r, 'spec').selector = { matchLabels: {} }), 'spec.selector', /must not be empty/],
    ['selector matches template', (r) => (at(r, 'spec.selector.matchLabels').app = 'other'), 'spec.template.metadata.labels', /must match spec\.selector/],
    [
      'selector expressions match template',
      (r) => (at(r, 'spec.selector').matchExpressions = [{ key: 'tier', operator: 'Exists' }]),
      'spec.template.metadata.labels',
      /must match spec\.selector/,
    ],
    ['selector Exists without values', (r) => (at(r, 'spec.selector').matchExpressions = [{ key: 'app', operator: 'Exists', values: ['a'] }]), 'spec.selector.matchExpressions[0].values', /must be empty/],
    ['selector operator', (r) => (at(r, 'spec.selector').matchExpressions = [{ key: 'app', operator: 'Has' }]), 'spec.selector.matchExpressions[0].operator', /one of "In", "NotIn", "Exists" or "DoesNotExist"/],
    ['template required', (r) => delete at(r, 'spec').template, 'spec.template', /required/],
    ['template spec required', (r) => delete at(r, 'spec.template').spec, 'spec.template.spec', /required/],
    ['containers non-empty', (r) => (at(r, 'spec.template.spec').containers = []), 'spec.template.spec.containers', /at least one container/],
    ['container image', (r) => delete at(r, 'spec.template.spec.containers[0]').image, 'spec.template.spec.containers[0].image', /required/],
    ['container name', (r) => (at(r, 'spec.template.spec.containers[0]').name = 'App'), 'spec.template.spec.containers[0].name', /DNS-1123 label/],
    [
      'container names unique',
      (r) => (at(r, 'spec.template.spec').initContainers = [{ name: 'app', image: 'busybox' }]),
      'spec.template.spec.containers[0].name',
      /duplicate container name "app"/,
    ],
    ['restartPolicy Always', (r) => (at(r, 'spec.template.spec').restartPolicy = 'Never'), 'spec.template.spec.restartPolicy', /must be "Always"/],
    ['strategy required', (r) => delete at(r, 'spec').strategy, 'spec.strategy', /required/],
    ['strategy one of', (r) => (at(r, 'spec').strategy = {}), 'spec.strategy', /exactly one of canary or blueGreen/],
    ['strategy not both', (r) => (at(r, 'spec.strategy').blueGreen = { activeService: 'a' }), 'spec.strategy', /not both/],
    ['blueGreen previewReplicaCount', (r) => (at(r, 'spec').strategy = { blueGreen: { activeService: 'a', previewReplicaCount: 0 } }), 'spec.strategy.blueGreen.previewReplicaCount', /at least 1/],
    ['blueGreen autoPromotionSeconds', (r) => (at(r, 'spec').strategy = { blueGreen: { activeService: 'a', autoPromotionSeconds: -1 } }), 'spec.strategy.blueGreen.autoPromotionSeconds', /must not be negative|>= 0|negative/],
    ['blueGreen prePromotionAnalysis templates', (r) => (at(r, 'spec').strategy = { blueGreen: { activeService: 'a', prePromotionAnalysis: {} } }), 'spec.strategy.blueGreen.prePromotionAnalysis.templates', /at least one/],
    ['blueGreen antiAffinity', (r) => (at(r, 'spec').strategy = { blueGreen: { activeService: 'a', antiAffinity: {} } }), 'spec.strategy.blueGreen.antiAffinity', /not supported/],
    ['blueGreen services differ', (r) => (at(r, 'spec').strategy = { blueGreen: { activeService: 'a', previewService: 'a' } }), 'spec.strategy.blueGreen.activeService', /must differ from previewService/],
    ['blueGreen activeService required', (r) => (at(r, 'spec').strategy = { blueGreen: {} }), 'spec.strategy.blueGreen.activeService', /required/],
    [
      'blueGreen scaleDownDelayRevisionLimit',
      (r) => (at(r, 'spec').strategy = { blueGreen: { activeService: 'a', scaleDownDelayRevisionLimit: 11 } }),
      'spec.strategy.blueGreen.scaleDownDelayRevisionLimit',
      /revisionHistoryLimit \(10\)/,
    ],
    ['setWeight 0..100', (r) => (at(r, 'spec.strategy.canary.steps[1]').setWeight = 101), 'spec.strategy.canary.steps[1].setWeight', /must be between 0 and 100/],
    ['setWeight integer', (r) => (at(r, 'spec.strategy.canary.steps[1]').setWeight = '20'), 'spec.strategy.canary.steps[1].setWeight', /must be an integer \(got string "20"\)/],
    ['step has an action', (r) => ((at(r, 'spec.strategy.canary').steps as unknown[])[1] = {}), 'spec.strategy.canary.steps[1]', /must have one action/],
    ['step has one action', (r) => (at(r, 'spec.strategy.canary.steps[1]').pause = {}), 'spec.strategy.canary.steps[1]', /exactly one action, found setWeight and pause/],
    ['pause null', (r) => ((at(r, 'spec.strategy.canary').steps as unknown[])[4] = { pause: null }), 'spec.strategy.canary.steps[4].pause', /write "pause: \{\}"/],
    ['pause duration string', (r) => (at(r, 'spec.strategy.canary.steps[2].pause').duration = '1 hour'), 'spec.strategy.canary.steps[2].pause.duration', /invalid duration "1 hour"/],
    ['pause duration negative', (r) => (at(r, 'spec.strategy.canary.steps[2].pause').duration = -5), 'spec.strategy.canary.steps[2].pause.duration', /must not be negative/],
    ['pause duration negative string', (r) => (at(r, 'spec.strategy.canary.steps[2].pause').duration = '-5s'), 'spec.strategy.canary.steps[2].pause.duration', /must not be negative/],
    ['pause duration type', (r) => (at(r, 'spec.strategy.canary.steps[2].pause').duration = true), 'spec.strategy.canary.steps[2].pause.duration', /must be an integer or a string \(got true\)/],
    [
      'setCanaryScale needs trafficRouting',
      (r) => {
        const canary = at(r, 'spec.strategy.canary');
        delete canary.trafficRouting;
      },
      'spec.strategy.canary.steps[0].setCanaryScale',
      /requires spec\.strategy\.canary\.trafficRouting/,
    ],
    ['setCanaryScale one field', (r) => (at(r, 'spec.strategy.canary.steps[0].setCanaryScale').weight = 10), 'spec.strategy.canary.steps[0].setCanaryScale', /only one of weight, replicas or matchTrafficWeight/],
    ['setCanaryScale some field', (r) => (at(r, 'spec.strategy.canary.steps[0]').setCanaryScale = { matchTrafficWeight: false }), 'spec.strategy.canary.steps[0].setCanaryScale', /must set one of/],
    ['setCanaryScale weight 0..100', (r) => (at(r, 'spec.strategy.canary.steps[0]').setCanaryScale = { weight: -1 }), 'spec.strategy.canary.steps[0].setCanaryScale.weight', /between 0 and 100/],
    ['setCanaryScale replicas >= 0', (r) => (at(r, 'spec.strategy.canary.steps[0]').setCanaryScale = { replicas: -1 }), 'spec.strategy.canary.steps[0].setCanaryScale.replicas', /must not be negative/],
    ['experiment step', (r) => ((at(r, 'spec.strategy.canary').steps as unknown[])[4] = { experiment: { templates: [] } }), 'spec.strategy.canary.steps[4].experiment', /not supported by Weir/],
    ['setHeaderRoute step', (r) => ((at(r, 'spec.strategy.canary').steps as unknown[])[4] = { setHeaderRoute: { name: 'h', match: [{ headerName: 'x-canary', headerValue: { exact: 'yes' } }] } }), 'spec.strategy.canary.steps[4].setHeaderRoute.name', /must be listed in trafficRouting\.managedRoutes/],
    ['setMirrorRoute step', (r) => ((at(r, 'spec.strategy.canary').steps as unknown[])[4] = { setMirrorRoute: { name: 'm' } }), 'spec.strategy.canary.steps[4].setMirrorRoute.name', /must be listed in trafficRouting\.managedRoutes/],
    ['plugin step', (r) => ((at(r, 'spec.strategy.canary').steps as unknown[])[4] = { plugin: { name: 'p' } }), 'spec.strategy.canary.steps[4].plugin', /not supported by Weir/],
    ['maxSurge percent', (r) => (at(r, 'spec.strategy.canary').maxSurge = '25'), 'spec.strategy.canary.maxSurge', /percentage such as "25%"/],
    ['maxSurge at most 100%', (r) => (at(r, 'spec.strategy.canary').maxSurge = '101%'), 'spec.strategy.canary.maxSurge', /between 0% and 100%/],
    ['maxUnavailable at most 100%', (r) => (at(r, 'spec.strategy.canary').maxUnavailable = '200%'), 'spec.strategy.canary.maxUnavailable', /between 0% and 100%/],
    ['maxUnavailable not negative', (r) => (at(r, 'spec.strategy.canary').maxUnavailable = -1), 'spec.strategy.canary.maxUnavailable', /must not be negative/],
    ['maxSurge and maxUnavailable not both 0', (r) => Object.assign(at(r, 'spec.strategy.canary'), { maxSurge: '0%', maxUnavailable: 0 }), 'spec.strategy.canary.maxSurge', /must not both be 0/],
    ['services differ', (r) => (at(r, 'spec.strategy.canary').canaryService = 'app-stable'), 'spec.strategy.canary.stableService', /must differ from canaryService/],
    ['canaryService with trafficRouting', (r) => delete at(r, 'spec.strategy.canary').canaryService, 'spec.strategy.canary.canaryService', /required when trafficRouting is set/],
    ['stableService with trafficRouting', (r) => (at(r, 'spec.strategy.canary').stableService = ''), 'spec.strategy.canary.stableService', /required when trafficRouting is set/],
    ['service name syntax', (r) => (at(r, 'spec.strategy.canary').canaryService = '1canary'), 'spec.strategy.canary.canaryService', /valid Service name/],
    ['ambassador router', (r) => (at(r, 'spec.strategy.canary').trafficRouting = { ambassador: { mappings: ['m'] } }), 'spec.strategy.canary.trafficRouting.ambassador', /Ambassador traffic router is not supported by Weir/],
    ['other plugin', (r) => (at(r, 'spec.strategy.canary.trafficRouting.plugins')['acme/router'] = {}), 'spec.strategy.canary.trafficRouting.plugins["acme/router"]', /not supported by Weir/],
    ['no router', (r) => (at(r, 'spec.strategy.canary').trafficRouting = { managedRoutes: [{ name: 'x' }] }), 'spec.strategy.canary.trafficRouting', /must configure a traffic router/],
    ['unknown trafficRouting field', (r) => (at(r, 'spec.strategy.canary.trafficRouting').plugin = {}), 'spec.strategy.canary.trafficRouting.plugin', /unknown field \(did you mean "plugins"\?\)/],
    ['maxTrafficWeight', (r) => (at(r, 'spec.strategy.canary.trafficRouting').maxTrafficWeight = 1000), 'spec.strategy.canary.trafficRouting.maxTrafficWeight', /not supported by Weir/],
    [
      'gatewayAPI needs a route',
      (r) => (at(r, 'spec.strategy.canary.trafficRouting.plugins')['argoproj-labs/gatewayAPI'] = { namespace: 'shop' }),
      'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"]',
      /httpRoute \(one\) or httpRoutes \(several\)/,
    ],
    [
      'gatewayAPI one of httpRoute and httpRoutes',
      (r) => (at(r, 'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"]').httpRoutes = [{ name: 'b' }]),
      'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].httpRoutes',
      /either httpRoute or httpRoutes, not both/,
    ],
    [
      'gatewayAPI httpRoutes unique',
      (r) => (at(r, 'spec.strategy.canary.trafficRouting.plugins')['argoproj-labs/gatewayAPI'] = { httpRoutes: [{ name: 'a' }, { name: 'a' }] }),
      'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].httpRoutes[1].name',
      /listed twice/,
    ],
    [
      'gatewayAPI httpRoutes non-empty',
      (r) => (at(r, 'spec.strategy.canary.trafficRouting.plugins')['argoproj-labs/gatewayAPI'] = { httpRoutes: [] }),
      'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].httpRoutes',
      /at least one HTTPRoute/,
    ],
    [
      'gatewayAPI tcpRoute',
      (r) => (at(r, 'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"]').tcpRoute = 'g'),
      'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].tcpRoute',
      /TCPRoutes are not supported by Weir/,
    ],
    [
      'gatewayAPI httpRoute type',
      (r) => (at(r, 'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"]').httpRoute = 5),
      'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].httpRoute',
      /must be a string/,
    ],
    ['scaleDownDelaySeconds >= 0', (r) => (at(r, 'spec.strategy.canary').scaleDownDelaySeconds = -1), 'spec.strategy.canary.scaleDownDelaySeconds', /must not be negative/],
    ['abortScaleDownDelaySeconds >= 0', (r) => (at(r, 'spec.strategy.canary').abortScaleDownDelaySeconds = -1), 'spec.strategy.canary.abortScaleDownDelaySeconds', /must not be negative/],
    [
      'scaleDownDelaySeconds needs trafficRouting',
      (r) => {
        const canary = at(r, 'spec.strategy.canary');
        delete canary.trafficRouting;
        canary.steps = [{ setWeight: 10 }];
        canary.scaleDownDelaySeconds = 30;
      },
      'spec.strategy.canary.scaleDownDelaySeconds',
      /only be used with trafficRouting/,
    ],
    [
      'dynamicStableScale refused',
      (r) => Object.assign(at(r, 'spec.strategy.canary'), { dynamicStableScale: true }),
      'spec.strategy.canary.dynamicStableScale',
      /not supported by Weir: the stable ReplicaSet stays at full scale/,
    ],
    ['antiAffinity', (r) => (at(r, 'spec.strategy.canary').antiAffinity = { requiredDuringSchedulingIgnoredDuringExecution: {} }), 'spec.strategy.canary.antiAffinity', /not supported by Weir/],
    ['pingPong', (r) => (at(r, 'spec.strategy.canary').pingPong = { pingService: 'a', pongService: 'b' }), 'spec.strategy.canary.pingPong', /not supported by Weir/],
    ['analysis templates', (r) => (at(r, 'spec.strategy.canary.steps[3].analysis').templates = []), 'spec.strategy.canary.steps[3].analysis.templates', /at least one analysis template/],
    ['analysis templateName', (r) => (at(r, 'spec.strategy.canary.steps[3].analysis.templates[0]').templateName = ' '), 'spec.strategy.canary.steps[3].analysis.templates[0].templateName', /must not be empty/],
    ['analysis templateName required', (r) => (at(r, 'spec.strategy.canary.steps[3].analysis').templates = [{}]), 'spec.strategy.canary.steps[3].analysis.templates[0].templateName', /required/],
    [
      'analysis template twice',
      (r) => (at(r, 'spec.strategy.canary.steps[3].analysis').templates = [{ templateName: 'a' }, { templateName: 'a' }]),
      'spec.strategy.canary.steps[3].analysis.templates[1].templateName',
      /AnalysisTemplate a is listed twice/,
    ],
    [
      'analysis args unique',
      (r) => (at(r, 'spec.strategy.canary.steps[3].analysis').args = [{ name: 'a' }, { name: 'b' }, { name: 'a' }]),
      'spec.strategy.canary.steps[3].analysis.args[2].name',
      /duplicate argument "a" \(also args\[0\]\)/,
    ],
    [
      'analysis arg value or valueFrom',
      (r) => (at(r, 'spec.strategy.canary.steps[3].analysis').args = [{ name: 'a', value: 'x', valueFrom: { podTemplateHashValue: 'Stable' } }]),
      'spec.strategy.canary.steps[3].analysis.args[0]',
      /either value or valueFrom/,
    ],
    [
      'analysis arg valueFrom source',
      (r) => (at(r, 'spec.strategy.canary.steps[3].analysis').args = [{ name: 'a', valueFrom: {} }]),
      'spec.strategy.canary.steps[3].analysis.args[0].valueFrom',
      /podTemplateHashValue or fieldRef/,
    ],
    [
      'analysis arg fieldRef',
      (r) => (at(r, 'spec.strategy.canary.steps[3].analysis').args = [{ name: 'a', valueFrom: { fieldRef: { fieldPath: 'metadata.generation' } } }]),
      'spec.strategy.canary.steps[3].analysis.args[0].valueFrom.fieldRef.fieldPath',
      /metadata\.name, metadata\.namespace/,
    ],
    [
      'analysis podTemplateHashValue',
      (r) => (at(r, 'spec.strategy.canary.steps[3].analysis').args = [{ name: 'a', valueFrom: { podTemplateHashValue: 'Canary' } }]),
      'spec.strategy.canary.steps[3].analysis.args[0].valueFrom.podTemplateHashValue',
      /one of "Stable" or "Latest"/,
    ],
    ['background analysis templates', (r) => (at(r, 'spec.strategy.canary').analysis = { startingStep: 0 }), 'spec.strategy.canary.analysis.templates', /at least one analysis template/],
    ['startingStep within steps', (r) => (at(r, 'spec.strategy.canary.analysis').startingStep = 5), 'spec.strategy.canary.analysis.startingStep', /0 to 4 \(got 5\)/],
    ['startingStep not negative', (r) => (at(r, 'spec.strategy.canary.analysis').startingStep = -1), 'spec.strategy.canary.analysis.startingStep', /must not be negative/],
    [
      'startingStep with no steps',
      (r) => {
        const canary = at(r, 'spec.strategy.canary');
        delete canary.steps;
      },
      'spec.strategy.canary.analysis.startingStep',
      /must be 0: the canary has no steps/,
    ],
    ['unknown field', (r) => (at(r, 'spec.strategy.canary').stepz = []), 'spec.strategy.canary.stepz', /unknown field \(did you mean "steps"\?\)/],
    ['unknown field in a step', (r) => (at(r, 'spec.strategy.canary.steps[1]').setWieght = 5), 'spec.strategy.canary.steps[1].setWieght', /did you mean "setWeight"/],
    ['unknown top-level field', (r) => (r.specs = {}), 'specs', /unknown field/],
    ['status phase', (r) => (r.status = { phase: 'Done' }), 'status.phase', /one of "Healthy", "Progressing", "Paused" or "Degraded"/],
  ];
  for (const [name, mutate, path, message] of rules) {
    it(`reports ${name} at ${path}`, () => {
      assertError(errorsOf(mutate), path, message);
    });
  }

  it('reports a schema error once per field, not once per union member', () => {
    const errors = errorsOf((r) => (at(r, 'spec.strategy.canary.steps[2].pause').duration = []));
    assert.deepEqual(
      errors.filter((e) => e.path.startsWith('spec.strategy.canary.steps[2]')),
      [{ path: 'spec.strategy.canary.steps[2].pause.duration', message: 'must be an integer or a string (got a list)' }],
    );
  });

  it('reports every error, not only the first eight, and leaves TypeBox settings as they were', () => {
    const before = Settings.Get().maxErrors;
    const errors = errorsOf((r) => {
      at(r, 'spec.strategy.canary').steps = Array.from({ length: 20 }, () => ({ setWeight: 'x' }));
    });
    assert.equal(errors.filter((e) => e.path.endsWith('.setWeight')).length, 20);
    assert.equal(Settings.Get().maxErrors, before);
  });

  it('never throws, whatever it is given', () => {
    const cyclic: Obj = base();
    at(cyclic, 'spec').self = cyclic;
    const inputs: unknown[] = [undefined, null, 0, 'Rollout', [], [base()], {}, { kind: 'Rollout' }, { spec: [] }, { spec: { strategy: { canary: { steps: 'many' } } } }, cyclic];
    for (const input of inputs) {
      const result = validateRollout(input);
      assert.ok(result.errors.length > 0, JSON.stringify(input === cyclic ? 'cyclic' : input));
      assert.equal(result.rollout, undefined);
    }
    assert.deepEqual(validateRollout(cyclic).errors, [{ path: 'spec.self', message: 'refers to itself (a YAML alias cycle?)' }]);
  });

  it('never throws on randomly damaged Rollouts', () => {
    // A small deterministic generator (mulberry32), so a failure reproduces.
    let seed = 12345;
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const junk = [null, -1, 1.5, 0, '', 'x', '-5s', '150%', true, [], [null], {}, { a: 1 }, [{ setWeight: 'x' }]];
    const nodes = (value: unknown, out: [Obj | unknown[], string | number][]): void => {
      if (Array.isArray(value)) {
        value.forEach((v: unknown, i) => {
          out.push([value, i]);
          nodes(v, out);
        });
      } else if (typeof value === 'object' && value !== null) {
        for (const [k, v] of Object.entries(value)) {
          out.push([value as Obj, k]);
          nodes(v, out);
        }
      }
    };
    for (let round = 0; round < 500; round++) {
      const r = base();
      for (let n = 0; n < 3; n++) {
        const all: [Obj | unknown[], string | number][] = [];
        nodes(r, all);
        const [parent, key] = all[Math.floor(random() * all.length)] ?? [r, 'spec'];
        const replacement = junk[Math.floor(random() * junk.length)];
        (parent as Record<string | number, unknown>)[key] = structuredClone(replacement);
      }
      const result = validateRollout(r);
      assert.ok(Array.isArray(result.errors));
      for (const e of result.errors) assert.equal(typeof e.message, 'string');
    }
  });
});

describe('field paths', () => {
  it('formats and parses paths with indexes and keys that are not identifiers', () => {
    const segments = ['spec', 'strategy', 'canary', 'trafficRouting', 'plugins', 'argoproj-labs/gatewayAPI', 'httpRoutes', 0, 'name'];
    const path = 'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].httpRoutes[0].name';
    assert.equal(formatFieldPath(segments), path);
    assert.deepEqual(parseFieldPath(path), segments);
    assert.equal(formatFieldPath(['spec', 'steps', 2, 'setWeight']), 'spec.steps[2].setWeight');
    assert.equal(formatFieldPath([]), '');
    assert.deepEqual(parseFieldPath('metadata.labels["app.kubernetes.io/name"]'), ['metadata', 'labels', 'app.kubernetes.io/name']);
    assert.deepEqual(parseFieldPath('items[3]'), ['items', 3]);
  });
});

describe('templateReferences', () => {
  it('lists every templateName with its path: background, steps, blue/green pre- and post-promotion', () => {
    const r = base();
    at(r, 'spec.strategy.canary.steps[3].analysis').templates = [{ templateName: 'latency' }, { templateName: 'errors', clusterScope: true }];
    assert.deepEqual(
      templateReferences(r).map((t) => [t.kind, t.name, formatFieldPath(t.path)]),
      [
        ['AnalysisTemplate', 'success-rate', 'spec.strategy.canary.analysis.templates[0].templateName'],
        ['AnalysisTemplate', 'latency', 'spec.strategy.canary.steps[3].analysis.templates[0].templateName'],
        ['ClusterAnalysisTemplate', 'errors', 'spec.strategy.canary.steps[3].analysis.templates[1].templateName'],
      ],
    );
    const bg = base();
    at(bg, 'spec').strategy = {
      blueGreen: { activeService: 'a', prePromotionAnalysis: { templates: [{ templateName: 'smoke' }] }, postPromotionAnalysis: { templates: [{ templateName: 'soak', clusterScope: false }] } },
    };
    assert.deepEqual(
      templateReferences(bg).map((t) => [t.kind, t.name, formatFieldPath(t.path)]),
      [
        ['AnalysisTemplate', 'smoke', 'spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName'],
        ['AnalysisTemplate', 'soak', 'spec.strategy.blueGreen.postPromotionAnalysis.templates[0].templateName'],
      ],
    );
  });

  it('leaves out what is not a name, and never throws', () => {
    const r = base();
    at(r, 'spec.strategy.canary.analysis').templates = [{ templateName: '' }, { templateName: 3 }, 'x', null];
    assert.deepEqual(templateReferences(r).map((t) => t.name), ['latency']);
    for (const junk of [undefined, null, 1, 'x', [], { spec: 1 }, { spec: { strategy: { canary: { steps: 'x' } } } }]) assert.deepEqual(templateReferences(junk), []);
  });
});

describe('analysis validators with a query checker', () => {
  const template = (query: string, judgeQuery = 'vector(1)'): Obj => ({
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: 't', namespace: 'shop' },
    spec: {
      metrics: [
        { name: 'p', successCondition: 'result[0] > 0', provider: { prometheus: { address: 'http://prometheus:9090', query } } },
        { name: 'j', provider: { judge: { address: 'http://prometheus:9090', baseline: { query: 'vector(1)' }, canary: { query: judgeQuery } } } },
      ],
    },
  });
  const checker: QueryChecker = (query) => (query.includes('((') ? { message: 'unexpected "("', line: 1, column: query.indexOf('((') + 2 } : undefined);

  it('reports a query the checker refuses at its field, with line and column', () => {
    assert.deepEqual(validateAnalysisTemplate(template('sum((x)', 'rate((y[1m])'), undefined, checker).errors, [
      { path: 'spec.metrics[0].provider.prometheus.query', message: 'PromQL syntax error at line 1, column 5 of the query: unexpected "("' },
      { path: 'spec.metrics[1].provider.judge.canary.query', message: 'PromQL syntax error at line 1, column 6 of the query: unexpected "("' },
    ]);
    const cluster = { ...template('sum((x)'), kind: 'ClusterAnalysisTemplate', metadata: { name: 't' } };
    assert.equal(validateClusterAnalysisTemplate(cluster, undefined, checker).errors.length, 1);
  });

  it('checks no query without a checker, and still says an empty one is empty', () => {
    assert.deepEqual(validateAnalysisTemplate(template('sum((x)')).errors, []);
    assert.deepEqual(validateAnalysisTemplate(template(' '), undefined, checker).errors, [{ path: 'spec.metrics[0].provider.prometheus.query', message: 'must not be empty' }]);
  });
});
