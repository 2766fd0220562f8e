// The Istio router's configuration: Argo Rollouts' `trafficRouting.istio`
// fields, unchanged (virtualService or virtualServices, destinationRule).
import { labelNameProblem, subdomainProblem, unknownFieldMessage } from '../../api/names.ts';
import { isRecord } from '../objects.ts';
import type { ConfigProblem } from '../types.ts';

/** Argo's TLSRoute: the TLS routes whose matches name exactly this port (0: none) and these SNI hosts. */
export interface IstioTlsRouteSelector {
  port: number;
  sniHosts: string[];
}

/** Argo's TCPRoute: the TCP routes whose matches name exactly this port (0: none). */
export interface IstioTcpRouteSelector {
  port: number;
}

/** One VirtualService whose routes the Rollout weights. */
export interface IstioVirtualServiceConfig {
  name: string;
  /** From Argo's "name.namespace" form; undefined: the Rollout's namespace. */
  namespace: string | undefined;
  /** HTTP routes by name; empty: the VirtualService's one (unmanaged) HTTP route, if it has any. */
  routes: string[];
  /** Empty: the VirtualService's one TLS route, if it has any. */
  tlsRoutes: IstioTlsRouteSelector[];
  /** Empty: the VirtualService's one TCP route, if it has any. */
  tcpRoutes: IstioTcpRouteSelector[];
}

/** Subset-level splitting: the DestinationRule (in the Rollout's namespace) and its subsets. */
export interface IstioDestinationRuleConfig {
  name: string;
  canarySubsetName: string;
  stableSubsetName: string;
  /** Subsets whose destinations keep their weights; the stable gets what they leave. */
  additionalSubsetNames: string[];
}

export interface IstioConfig {
  virtualServices: IstioVirtualServiceConfig[];
  /** Undefined: host-level splitting between the stable and canary Services. */
  destinationRule: IstioDestinationRuleConfig | undefined;
}

type Path = (string | number)[];

class Problems {
  readonly list: ConfigProblem[] = [];
  add(path: Path, message: string): void {
    this.list.push({ path, message });
  }
  unknownFields(raw: Record<string, unknown>, known: readonly string[], path: Path): void {
    for (const key of Object.keys(raw)) if (!known.includes(key)) this.add([...path, key], unknownFieldMessage(key, known));
  }
}

const TOP_FIELDS = ['virtualService', 'virtualServices', 'destinationRule'] as const;
const VS_FIELDS = ['name', 'routes', 'tlsRoutes', 'tcpRoutes'] as const;
const TLS_FIELDS = ['port', 'sniHosts'] as const;
const TCP_FIELDS = ['port'] as const;
const DR_FIELDS = ['name', 'canarySubsetName', 'stableSubsetName', 'additionalSubsetNames'] as const;

function nonEmptyString(p: Problems, value: unknown, path: Path, what: string): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  p.add(path, value === undefined ? `${what} is required` : `${what} must be a non-empty string`);
  return undefined;
}

/** A list of distinct non-empty strings (undefined: []). */
function stringList(p: Problems, value: unknown, path: Path): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    p.add(path, 'must be a list of strings');
    return [];
  }
  const out: string[] = [];
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string' || item === '') p.add([...path, i], 'must be a non-empty string');
    else if (out.includes(item)) p.add([...path, i], `"${item}" is listed twice`);
    else out.push(item);
  });
  return out;
}

function port(p: Problems, value: unknown, path: Path): number {
  if (value === undefined) return 0;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535) return value;
  p.add(path, 'must be a port number, 1 to 65535 (0 or omitted: a route without a port match)');
  return 0;
}

function objectList(p: Problems, value: unknown, path: Path, each: (item: Record<string, unknown>, path: Path) => void): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) {
    p.add(path, 'must be a list');
    return;
  }
  value.forEach((item: unknown, i) => {
    if (isRecord(item)) each(item, [...path, i]);
    else p.add([...path, i], 'must be an object');
  });
}

/**
 * Argo's "name" or "name.namespace" (the last dot-separated part is the
 * namespace, a trailing ".cluster.local" is dropped), as Argo reads it.
 */
function virtualServiceName(p: Problems, raw: string, path: Path): { name: string; namespace: string | undefined } | undefined {
  const trimmed = raw.endsWith('.cluster.local') ? raw.slice(0, -'.cluster.local'.length) : raw;
  const dot = trimmed.lastIndexOf('.');
  const name = dot < 0 ? trimmed : trimmed.slice(0, dot);
  const namespace = dot < 0 ? undefined : trimmed.slice(dot + 1);
  const nameProblem = subdomainProblem(name);
  if (nameProblem) {
    p.add(path, `"${raw}": the VirtualService name ${nameProblem}`);
    return undefined;
  }
  const nsProblem = namespace === undefined ? undefined : labelNameProblem(namespace);
  if (nsProblem) {
    p.add(path, `"${raw}": the namespace after the last "." ${nsProblem}`);
    return undefined;
  }
  return { name, namespace };
}

function parseVirtualService(p: Problems, raw: Record<string, unknown>, path: Path): IstioVirtualServiceConfig | undefined {
  p.unknownFields(raw, VS_FIELDS, path);
  const rawName = nonEmptyString(p, raw.name, [...path, 'name'], 'name');
  const ref = rawName === undefined ? undefined : virtualServiceName(p, rawName, [...path, 'name']);
  const routes = stringList(p, raw.routes, [...path, 'routes']);
  const tlsRoutes: IstioTlsRouteSelector[] = [];
  objectList(p, raw.tlsRoutes, [...path, 'tlsRoutes'], (item, at) => {
    p.unknownFields(item, TLS_FIELDS, at);
    tlsRoutes.push({ port: port(p, item.port, [...at, 'port']), sniHosts: stringList(p, item.sniHosts, [...at, 'sniHosts']) });
  });
  const tcpRoutes: IstioTcpRouteSelector[] = [];
  objectList(p, raw.tcpRoutes, [...path, 'tcpRoutes'], (item, at) => {
    p.unknownFields(item, TCP_FIELDS, at);
    tcpRoutes.push({ port: port(p, item.port, [...at, 'port']) });
  });
  return ref && { ...ref, routes, tlsRoutes, tcpRoutes };
}

function parseDestinationRule(p: Problems, raw: unknown, path: Path): IstioDestinationRuleConfig | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) {
    p.add(path, 'must be an object');
    return undefined;
  }
  p.unknownFields(raw, DR_FIELDS, path);
  const name = nonEmptyString(p, raw.name, [...path, 'name'], 'name');
  const nameProblem = name === undefined ? undefined : subdomainProblem(name);
  if (nameProblem) p.add([...path, 'name'], `the DestinationRule name ${nameProblem} (it is read in the Rollout's namespace)`);
  const canarySubsetName = nonEmptyString(p, raw.canarySubsetName, [...path, 'canarySubsetName'], 'canarySubsetName');
  const stableSubsetName = nonEmptyString(p, raw.stableSubsetName, [...path, 'stableSubsetName'], 'stableSubsetName');
  if (canarySubsetName !== undefined && canarySubsetName === stableSubsetName) {
    p.add([...path, 'stableSubsetName'], `the stable and canary subsets must differ (both are "${canarySubsetName}")`);
  }
  const additionalSubsetNames = stringList(p, raw.additionalSubsetNames, [...path, 'additionalSubsetNames']);
  additionalSubsetNames.forEach((s, i) => {
    if (s === canarySubsetName || s === stableSubsetName) p.add([...path, 'additionalSubsetNames', i], `"${s}" is the canary or stable subset; additional subsets are the others`);
  });
  if (name === undefined || nameProblem || canarySubsetName === undefined || stableSubsetName === undefined) return undefined;
  return { name, canarySubsetName, stableSubsetName, additionalSubsetNames };
}

/** Parses `trafficRouting.istio`; problems' paths are relative to it. */
export function parseIstioConfig(raw: unknown): { config: IstioConfig } | { problems: ConfigProblem[] } {
  const p = new Problems();
  if (!isRecord(raw)) return { problems: [{ path: [], message: 'must be an object with virtualService or virtualServices' }] };
  p.unknownFields(raw, TOP_FIELDS, []);
  const virtualServices: IstioVirtualServiceConfig[] = [];
  if (raw.virtualService !== undefined && raw.virtualServices !== undefined) {
    p.add(['virtualServices'], 'set virtualService or virtualServices, not both');
  } else if (raw.virtualService !== undefined) {
    if (isRecord(raw.virtualService)) {
      const vs = parseVirtualService(p, raw.virtualService, ['virtualService']);
      if (vs) virtualServices.push(vs);
    } else p.add(['virtualService'], 'must be an object');
  } else if (raw.virtualServices !== undefined) {
    if (Array.isArray(raw.virtualServices) && raw.virtualServices.length === 0) p.add(['virtualServices'], 'must name at least one VirtualService');
    objectList(p, raw.virtualServices, ['virtualServices'], (item, at) => {
      const vs = parseVirtualService(p, item, at);
      if (!vs) return;
      if (virtualServices.some((o) => o.name === vs.name && o.namespace === vs.namespace)) p.add([...at, 'name'], `VirtualService "${String(item.name)}" is listed twice`);
      else virtualServices.push(vs);
    });
  } else {
    p.add(['virtualService'], 'virtualService or virtualServices is required');
  }
  const destinationRule = parseDestinationRule(p, raw.destinationRule, ['destinationRule']);
  if (p.list.length > 0) return { problems: p.list };
  return { config: { virtualServices, destinationRule } };
}
