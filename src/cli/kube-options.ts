// The options every command that talks to a cluster shares, as kubectl
// spells them: -n/--namespace, --kubeconfig, --context. They resolve to a
// KubeConfig and a namespace: the flag, else the namespace of the kubeconfig
// context, else "default".
import { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';

export interface KubeOptions {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

export interface KubeTarget {
  kubeConfig: KubeConfig;
  /** The namespace to work in (the flag, the context's, or "default"). */
  namespace: string;
  /** The name of the context in use. */
  context: string;
}

/** Adds -n/--namespace, --kubeconfig and --context to a command. */
export function addKubeOptions(command: Command): Command {
  return command
    .option('-n, --namespace <namespace>', "namespace (default: the kubeconfig context's, else \"default\")")
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)')
    .option('--context <context>', 'kubeconfig context to use (default: the current context)');
}

/**
 * The kube options of a command merged with those of its ancestors, the
 * nearest winning: `weir get -n ns rollout x` and `weir get rollout x -n ns`
 * mean the same.
 */
export function kubeOptionsOf(command: Command): KubeOptions {
  const merged: KubeOptions = {};
  for (let c: Command | null = command; c; c = c.parent) {
    const opts = c.opts<Record<string, unknown>>();
    for (const key of ['namespace', 'kubeconfig', 'context'] as const) {
      const value = opts[key];
      if (merged[key] === undefined && typeof value === 'string' && value !== '') merged[key] = value;
    }
  }
  return merged;
}

/** The namespace of the kubeconfig's current context, if it names one. */
export function contextNamespace(kubeConfig: KubeConfig): string | undefined {
  const ns = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
  return ns === undefined || ns === '' ? undefined : ns;
}

/** Loads the kubeconfig the options name and picks the namespace. Throws a one-line error when it cannot. */
export function loadKube(opts: KubeOptions): KubeTarget {
  const kubeConfig = new KubeConfig();
  if (opts.kubeconfig !== undefined) {
    try {
      kubeConfig.loadFromFile(opts.kubeconfig);
    } catch (err) {
      throw new Error(`cannot load kubeconfig "${opts.kubeconfig}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  } else {
    try {
      kubeConfig.loadFromDefault();
    } catch (err) {
      throw new Error(`cannot load the kubeconfig: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  if (opts.context !== undefined) {
    if (!kubeConfig.getContextObject(opts.context)) {
      const known = kubeConfig.getContexts().map((c) => c.name);
      throw new Error(`context "${opts.context}" does not exist in the kubeconfig${known.length > 0 ? ` (contexts: ${known.join(', ')})` : ''}`);
    }
    kubeConfig.setCurrentContext(opts.context);
  }
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error(`no cluster for context "${kubeConfig.getCurrentContext()}" in the kubeconfig (use --kubeconfig, --context or $KUBECONFIG)`);
  }
  return {
    kubeConfig,
    namespace: opts.namespace ?? contextNamespace(kubeConfig) ?? 'default',
    context: kubeConfig.getCurrentContext(),
  };
}
