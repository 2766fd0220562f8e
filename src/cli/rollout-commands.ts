// `weir get rollout`, `weir list rollouts`, and the actions on a Rollout:
// `weir promote|abort|retry|pause|resume|restart`, with the semantics of
// `kubectl argo rollouts`. Also installed as `kubectl-weir`, so `kubectl weir
// get rollout demo` works the same.
//
// What is written comes from the pure planners in engine/user-actions.ts; what
// is printed from the pure renderers in rollout-view.ts. This file does the
// I/O: read the Rollout, apply the merge patches, watch.
import type { Command } from 'commander';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/common.ts';
import type { Rollout } from '../api/rollout.ts';
import { describeKubeError, kubeErrorCode, kubeErrorInfo } from '../cluster/errors.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../engine/types.ts';
import { addKubeOptions, kubeOptionsOf, loadKube, type KubeTarget } from './kube-options.ts';
import { planRolloutAction, specPatchBody, statusPatchBody, type RolloutAction } from '../engine/user-actions.ts';
import { labelSelectorString, renderRollout, renderRolloutList, type PodLike, type ReplicaSetLike } from './rollout-view.ts';

const PLURAL = 'rollouts';
const FIELD_MANAGER = 'weir-cli';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Status patches carry the resourceVersion read; on a conflict, read and plan again this many times. */
const MAX_ATTEMPTS = 5;

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object as a Rollout, with the parts every reader relies on present. */
export function asRollout(obj: unknown): Rollout {
  if (!isRecord(obj)) throw new Error('the API server returned something that is not a Rollout');
  const metadata = isRecord(obj.metadata) ? obj.metadata : {};
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const strategy = isRecord(spec.strategy) ? spec.strategy : {};
  return { ...obj, metadata, spec: { ...spec, strategy } } as Rollout;
}

function notFound(err: unknown, name: string, namespace: string): Error | undefined {
  if (kubeErrorCode(err) !== 404) return undefined;
  const { message } = kubeErrorInfo(err);
  if (message.includes(`"${name}" not found`)) return new Error(`rollout "${name}" not found in namespace "${namespace}"`, { cause: err });
  return new Error(`the API server does not serve ${PLURAL}.${GROUP}/${VERSION} (is Weir's CRD installed?): ${describeKubeError(err)}`, { cause: err });
}

function kubeError(err: unknown, name: string, namespace: string): Error {
  return notFound(err, name, namespace) ?? new Error(describeKubeError(err), { cause: err });
}

async function readRollout(api: CustomObjectsApi, namespace: string, name: string): Promise<Rollout> {
  try {
    return asRollout(await api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name }));
  } catch (err) {
    throw kubeError(err, name, namespace);
  }
}

/** Reads the Rollout, plans the action, applies the patches (status first, then spec); re-plans on a conflict. Returns the message to print. */
export async function runRolloutAction(target: KubeTarget, name: string, action: RolloutAction, now: () => Date = () => new Date()): Promise<string> {
  const { kubeConfig, namespace } = target;
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const ref = { group: GROUP, version: VERSION, namespace, plural: PLURAL, name };
  for (let attempt = 1; ; attempt++) {
    const rollout = await readRollout(api, namespace, name);
    const plan = planRolloutAction(action, rollout, now());
    try {
      const statusBody = statusPatchBody(plan, rollout.metadata.resourceVersion);
      if (statusBody) await api.patchNamespacedCustomObjectStatus({ ...ref, body: statusBody, fieldManager: FIELD_MANAGER }, mergePatch);
      const specBody = specPatchBody(plan);
      if (specBody) await api.patchNamespacedCustomObject({ ...ref, body: specBody, fieldManager: FIELD_MANAGER }, mergePatch);
      return plan.message;
    } catch (err) {
      if (kubeErrorCode(err) === 409 && attempt < MAX_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
        continue;
      }
      throw kubeError(err, name, namespace);
    }
  }
}

interface RolloutTree {
  rollout: Rollout;
  replicaSets: ReplicaSetLike[];
  pods: PodLike[];
}

function childSelector(rollout: Rollout): string {
  return labelSelectorString(rollout.spec.selector) || POD_TEMPLATE_HASH_LABEL;
}

async function readTree(target: KubeTarget, name: string): Promise<RolloutTree> {
  const { kubeConfig, namespace } = target;
  const rollout = await readRollout(kubeConfig.makeApiClient(CustomObjectsApi), namespace, name);
  const labelSelector = childSelector(rollout);
  try {
    const [replicaSets, pods] = await Promise.all([
      kubeConfig.makeApiClient(AppsV1Api).listNamespacedReplicaSet({ namespace, labelSelector }),
      kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector }),
    ]);
    return { rollout, replicaSets: replicaSets.items, pods: pods.items };
  } catch (err) {
    throw new Error(describeKubeError(err), { cause: err });
  }
}

function useColor(): boolean {
  return process.stdout.isTTY && process.env.NO_COLOR === undefined;
}

/** A fingerprint of what was read: re-render only when some object changed. */
function fingerprint(tree: RolloutTree | undefined): string {
  if (!tree) return 'gone';
  const versions = (objs: readonly { metadata?: { uid?: string; resourceVersion?: string } }[]): string =>
    objs
      .map((o) => `${o.metadata?.uid ?? ''}@${o.metadata?.resourceVersion ?? ''}`)
      .sort()
      .join(',');
  return [tree.rollout.metadata.resourceVersion ?? '', versions(tree.replicaSets), versions(tree.pods)].join('|');
}

/**
 * `get rollout --watch`: watches the Rollout (fieldSelector
 * metadata.name=NAME), its ReplicaSets and pods (the Rollout's selector),
 * re-reads all three on any event and re-renders when something changed.
 * A watch that ends (server timeout, network) is started again. Resolves on
 * SIGINT/SIGTERM.
 */
async function watchRollout(target: KubeTarget, name: string, first: RolloutTree): Promise<void> {
  const { kubeConfig, namespace } = target;
  const tty = process.stdout.isTTY;
  const watch = new Watch(kubeConfig);
  const controllers = new Set<AbortController>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  /** Read through a call: the state changes while a read awaits. */
  const isStopped = (): boolean => stopped;
  let last = '';
  let rendered = 0;
  let refreshing = false;
  /** Refreshes asked for, and done: another read is due while they differ. */
  let requested = 0;
  let handled = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const show = (text: string): void => {
    if (tty) process.stdout.write('\x1b[H\x1b[2J' + text);
    else process.stdout.write((rendered > 0 ? '---\n' : '') + text);
    rendered++;
  };

  const render = (tree: RolloutTree | undefined): void => {
    const key = fingerprint(tree);
    if (key === last) return;
    last = key;
    show(tree ? renderRollout(tree.rollout, tree.replicaSets, tree.pods, new Date(), { color: useColor() }) : `rollout "${name}" not found in namespace "${namespace}" (deleted?); waiting for it\n`);
  };

  const refresh = async (): Promise<void> => {
    requested++;
    if (refreshing) return;
    refreshing = true;
    try {
      while (handled !== requested && !stopped) {
        handled = requested;
        try {
          render(await readTree(target, name));
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (message.startsWith(`rollout "${name}" not found`)) render(undefined);
          else if (!isStopped()) process.stderr.write(`weir: ${message}\n`);
        }
      }
    } finally {
      refreshing = false;
    }
  };

  let pending: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (stopped || pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      void refresh();
    }, 100);
  };

  const later = (fn: () => void, ms: number): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const start = (path: string, query: Record<string, string>): void => {
    if (stopped) return;
    const startedAt = Date.now();
    let controller: AbortController | undefined;
    const ended = (err: unknown): void => {
      if (controller) controllers.delete(controller);
      if (stopped) return;
      // Catch up on what happened while no watch was open, then watch again
      // (at most once a second, so a watch that fails at once does not spin).
      schedule();
      const wait = err ? 2000 : Math.max(0, 1000 - (Date.now() - startedAt));
      later(() => {
        start(path, query);
      }, wait);
    };
    watch
      .watch(
        path,
        query,
        (phase: string) => {
          if (phase !== 'BOOKMARK') schedule();
        },
        ended,
      )
      .then(
        (c) => {
          if (stopped) c.abort();
          else controllers.add(c);
          controller = c;
        },
        ended,
      );
  };

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    if (pending) clearTimeout(pending);
    for (const t of timers) clearTimeout(t);
    for (const c of controllers) c.abort();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    resolveDone();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  render(first);
  const labelSelector = childSelector(first.rollout);
  start(`/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${PLURAL}`, { fieldSelector: `metadata.name=${name}` });
  start(`/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/replicasets`, { labelSelector });
  start(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`, { labelSelector });
  await done;
}

async function listRollouts(target: KubeTarget, allNamespaces: boolean): Promise<Rollout[]> {
  const api = target.kubeConfig.makeApiClient(CustomObjectsApi);
  try {
    const list: unknown = allNamespaces
      ? await api.listCustomObjectForAllNamespaces({ group: GROUP, version: VERSION, resourcePlural: PLURAL })
      : await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: target.namespace, plural: PLURAL });
    const items = isRecord(list) && Array.isArray(list.items) ? (list.items as unknown[]) : [];
    return items.map(asRollout);
  } catch (err) {
    if (kubeErrorCode(err) === 404) {
      throw new Error(`the API server does not serve ${PLURAL}.${GROUP}/${VERSION} (is Weir's CRD installed?): ${describeKubeError(err)}`, { cause: err });
    }
    throw new Error(describeKubeError(err), { cause: err });
  }
}

function findOrAdd(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  if (existing) return existing;
  return addKubeOptions(program.command(name).description(description));
}

export function registerRolloutCommands(program: Command): void {
  // get
  const get = findOrAdd(program, 'get', 'show a resource in detail');
  addKubeOptions(
    get
      .command('rollout')
      .aliases(['rollouts', 'ro'])
      .description('show a Rollout: status, steps, and its revisions, ReplicaSets and pods')
      .argument('<name>', 'the Rollout'),
  )
    .option('-w, --watch', 'keep watching and re-render on every change (Ctrl-C to stop)')
    .action(async (name: string, opts: { watch?: boolean }, cmd: Command) => {
      const target = loadKube(kubeOptionsOf(cmd));
      const tree = await readTree(target, name);
      if (opts.watch === true) {
        await watchRollout(target, name, tree);
        return;
      }
      process.stdout.write(renderRollout(tree.rollout, tree.replicaSets, tree.pods, new Date(), { color: useColor() }));
    });

  // list
  const list = findOrAdd(program, 'list', 'list resources');
  addKubeOptions(
    list
      .command('rollouts')
      .aliases(['rollout', 'ro'])
      .description('list Rollouts: strategy, status, step, weight and replicas'),
  )
    .option('-A, --all-namespaces', 'list the Rollouts of every namespace')
    .action(async (opts: { allNamespaces?: boolean }, cmd: Command) => {
      const all = opts.allNamespaces === true;
      const target = loadKube(kubeOptionsOf(cmd));
      const rollouts = await listRollouts(target, all);
      if (rollouts.length === 0) {
        process.stderr.write(all ? 'No resources found\n' : `No resources found in ${target.namespace} namespace.\n`);
        return;
      }
      process.stdout.write(renderRolloutList(rollouts, { allNamespaces: all }));
    });

  // actions
  const action = (verb: string, description: string, run: RolloutAction, extra?: (c: Command) => Command): void => {
    let c = addKubeOptions(program.command(verb).description(description).argument('<name>', 'the Rollout'));
    if (extra) c = extra(c);
    c.action(async (name: string, opts: { full?: boolean }, cmd: Command) => {
      const target = loadKube(kubeOptionsOf(cmd));
      print(await runRolloutAction(target, name, run === 'promote' && opts.full === true ? 'promote-full' : run));
    });
  };
  action('promote', 'resume a paused Rollout, or go to the next step; --full skips all remaining steps, pauses and analysis', 'promote', (c) =>
    c.option('--full', 'promote fully: skip the remaining steps, pauses and analysis'),
  );
  action('abort', 'abort the update in progress: traffic and replicas go back to the stable version', 'abort');
  action('retry', 'start an aborted update again', 'retry');
  action('pause', 'pause a Rollout (spec.paused)', 'pause');
  action('resume', 'resume a Rollout paused with "weir pause" (spec.paused)', 'resume');
  action('restart', 'restart the pods of a Rollout (spec.restartAt = now)', 'restart');
}
