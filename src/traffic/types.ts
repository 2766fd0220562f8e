// The one contract every traffic router implements, close to Argo Rollouts':
// set the canary weight (the stable gets the rest), set and remove header
// routes and mirror routes, remove every managed route at the end of a
// rollout or on abort, and say what weight the data plane holds now.
//
// The engine speaks only of a TrafficIntent (router-neutral). A router reads
// its own objects (the controller hands them over from its informer caches
// or a fresh GET) and says, purely, what they hold (observe) and which writes
// bring them to the intent (writes). Routers do no I/O and keep no state: the
// objects are the state, so a restarted controller carries on from them.

/** Argo's StringMatch: exactly one of the three is set. */
export interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

/** Argo's HeaderRoutingMatch. */
export interface HeaderMatch {
  headerName: string;
  headerValue: StringMatch;
}

/** Argo's RouteMatch (for mirror routes): every given part must match. */
export interface RouteMatch {
  method?: StringMatch;
  path?: StringMatch;
  headers?: Record<string, StringMatch>;
}

/** A managed route sending every request that matches to the canary. */
export interface HeaderRoute {
  name: string;
  /** All must match (AND). Never empty: an empty match is a removal, and not in the intent. */
  match: HeaderMatch[];
}

/** A managed route copying matched requests to the canary; responses still come from the weighted destinations. */
export interface MirrorRoute {
  name: string;
  /** Any may match (OR), as Argo's list of RouteMatch. Never empty. */
  match: RouteMatch[];
  /** Percentage of the matched requests to copy, 0..100 (Argo's default 100). */
  percentage: number;
}

/** What the engine wants every router of a Rollout to hold. */
export interface TrafficIntent {
  /** Share of traffic for the canary, 0..maxWeight; the stable gets maxWeight - canaryWeight. */
  canaryWeight: number;
  /** Managed header routes that must be present, in managedRoutes order (highest precedence first). Any other managed route must be absent. */
  headerRoutes: HeaderRoute[];
  /** Managed mirror routes that must be present, in managedRoutes order. */
  mirrorRoutes: MirrorRoute[];
}

/** Who the router routes for: the Rollout and its Services. */
export interface TrafficContext {
  rollout: { name: string; namespace: string; uid: string };
  stableService: string;
  canaryService: string;
  /** Pod-template hashes of the stable and canary ReplicaSets, for routers that route to subsets (Istio DestinationRule). */
  stableHash: string | undefined;
  canaryHash: string | undefined;
  /** trafficRouting.managedRoutes names, in order: the precedence of the managed routes. */
  managedRoutes: string[];
  /** trafficRouting.maxTrafficWeight, default 100. */
  maxWeight: number;
}

/** An object a router reads or writes. `apiVersion` is the version the router speaks. */
export interface TrafficObjectRef {
  apiVersion: string;
  kind: string;
  /** The resource's plural (for the API path). */
  plural: string;
  namespace: string;
  name: string;
}

/** A Kubernetes object as JSON. */
export interface TrafficObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec?: unknown;
  [key: string]: unknown;
}

/** The live objects a router asked for, by refKey(ref); undefined when the object does not exist. */
export type LiveObjects = ReadonlyMap<string, TrafficObject | undefined>;

/** What a router's objects hold now. */
export interface ObservedTraffic {
  /** The router, for messages ("Istio VirtualService"). */
  router: string;
  /** The canary's weight every object agrees on; undefined when they disagree or cannot be read (then the weight is written). */
  canaryWeight: number | undefined;
  /** Names of the managed header routes present (any object). */
  headerRoutes: string[];
  /** Names of the managed mirror routes present. */
  mirrorRoutes: string[];
  /** Whether the data plane is known to serve canaryWeight; undefined when the router cannot tell. */
  verified: boolean | undefined;
  /** Why the router cannot route now (an object missing, a route without both Services), each naming the object. Blocks the rollout. */
  problems: string[];
}

/**
 * A write that brings one object to the intent.
 * - create: the controller adds the Rollout as controller owner (garbage-collected with it).
 * - update: `body` is the whole object as read (resourceVersion kept), changed: a replace that fails on conflict.
 * - delete: only ever of an object the Rollout owns.
 */
export type TrafficWrite =
  | { op: 'create'; ref: TrafficObjectRef; body: TrafficObject }
  | { op: 'update'; ref: TrafficObjectRef; body: TrafficObject }
  | { op: 'delete'; ref: TrafficObjectRef };

/** A problem in a router's configuration, at a path below trafficRouting.<router>. */
export interface ConfigProblem {
  path: (string | number)[];
  message: string;
}

/** What a router can do beyond weights; steps it cannot serve are refused at validation, naming the router. */
export interface RouterCapabilities {
  headerRoutes: boolean;
  /** Header value matches the router can express (NGINX: exact and regex, one header). */
  headerMatchKinds: readonly (keyof StringMatch)[];
  /** At most this many headers in one setHeaderRoute (NGINX: 1); undefined: no limit. */
  maxHeaderMatches: number | undefined;
  /** At most this many header routes at once (NGINX: 1); undefined: no limit. */
  maxHeaderRoutes: number | undefined;
  mirrorRoutes: boolean;
  /** The match kinds a mirror route's method, path and headers can use; undefined: all three kinds for each. */
  mirrorMatchKinds?: { method: readonly (keyof StringMatch)[]; path: readonly (keyof StringMatch)[]; headers: readonly (keyof StringMatch)[] };
}

/**
 * A field of an object in Git that the Rollout controller owns once the
 * object is live (a route's weights): Git sync takes it from the live object
 * before applying or comparing, so a poll never resets a rollout mid-way.
 */
export interface GitControlledObject {
  ref: Pick<TrafficObjectRef, 'apiVersion' | 'kind' | 'namespace' | 'name'>;
  /** `desired` (from Git) with the fields the Rollout controls taken from `live`. Pure; never changes its arguments. */
  yieldToLive(desired: TrafficObject, live: TrafficObject): TrafficObject;
}

/** One traffic router. `C` is its parsed configuration. */
export interface Router<C> {
  /** The key under trafficRouting (or the plugin name) that selects it. */
  readonly key: string;
  /** For messages: "NGINX Ingress". */
  readonly label: string;
  readonly capabilities: RouterCapabilities;
  /** The kinds it reads and writes, for the controller's informers. */
  readonly kinds: readonly Pick<TrafficObjectRef, 'apiVersion' | 'kind' | 'plural'>[];
  /** Parses its section of trafficRouting; problems (paths relative to the section) when invalid. */
  parse(raw: unknown): { config: C } | { problems: ConfigProblem[] };
  /** The objects it needs to see to observe and write. */
  objects(ctx: TrafficContext, config: C): TrafficObjectRef[];
  observe(ctx: TrafficContext, config: C, live: LiveObjects): ObservedTraffic;
  /** The writes that make the objects hold `intent`; empty when they already do. Never writes an object it does not own or was not named. */
  writes(ctx: TrafficContext, config: C, live: LiveObjects, intent: TrafficIntent): TrafficWrite[];
  /** Why this configuration cannot hold header or mirror routes although the router can (none of its objects takes them); undefined when it can. */
  managedRouteProblem?(config: C, kind: 'header' | 'mirror'): string | undefined;
  /** Objects in Git whose fields the Rollout controls (empty when the router writes only objects it creates). */
  gitControlled(ctx: TrafficContext, config: C): GitControlledObject[];
}

/** The key of a ref in LiveObjects: "apiVersion/Kind/namespace/name" with the group only (versions of one kind are one object). */
export function refKey(ref: Pick<TrafficObjectRef, 'apiVersion' | 'kind' | 'namespace' | 'name'>): string {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.slice(0, ref.apiVersion.lastIndexOf('/')) : '';
  return `${group}/${ref.kind}/${ref.namespace}/${ref.name}`;
}
