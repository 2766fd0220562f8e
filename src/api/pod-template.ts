// The mistakes in a Rollout's pod template that Kubernetes refuses only when
// the Rollout controller creates the ReplicaSet, mid-rollout: a port given as
// a string or out of range, an env value that is not a string, a resource
// quantity Kubernetes cannot read (`256mb`), an enum in the wrong case
// (`imagePullPolicy: always`). The Rollout's CRD keeps the template as it is
// written, so neither the API server nor Git sync's dry run of the Rollout
// sees them; these rules, Kubernetes' own for those fields, make weir lint
// and Git sync refuse them first.

/** A field path as validate.ts reports it. */
type Path = readonly (string | number)[];
type Report = (path: Path, message: string) => void;

/** resource.Quantity's syntax: a decimal number with a binary (Ki…Ei) or decimal (n, u, m, k, M…E) suffix, or an exponent. */
const QUANTITY = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;
/** IANA_SVC_NAME: a port name (at most 15 characters, lowercase letters, digits and '-', a letter among them, no '-' at either end or twice in a row). */
const PORT_NAME = /^(?=.*[a-z])[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$|^[a-z]$/;

const IMAGE_PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'] as const;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shown(value: unknown): string {
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** An enum field: one of `allowed`, exactly; a case slip says what was meant. */
function checkEnum(value: unknown, allowed: readonly string[], path: Path, report: Report): void {
  if (value === undefined || (typeof value === 'string' && allowed.includes(value))) return;
  const near = typeof value === 'string' ? allowed.find((a) => a.toLowerCase() === value.toLowerCase()) : undefined;
  report(path, `must be one of ${allowed.join(', ')} (got ${shown(value)})${near === undefined ? '' : `: did you mean "${near}"?`}`);
}

function checkPort(value: unknown, path: Path, report: Report, required: boolean): void {
  if (value === undefined) {
    if (required) report(path, 'required');
    return;
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    const hint = typeof value === 'string' && /^\d+$/.test(value) ? `: write it without quotes, ${value}` : '';
    report(path, `must be an integer from 1 to 65535 (got ${shown(value)})${hint}`);
  } else if (value < 1 || value > 65535) {
    report(path, `must be from 1 to 65535 (got ${value})`);
  }
}

function checkQuantities(resources: unknown, path: Path, report: Report): void {
  if (!isObj(resources)) return;
  for (const group of ['limits', 'requests'] as const) {
    const values = resources[group];
    if (!isObj(values)) continue;
    for (const [name, quantity] of Object.entries(values)) {
      const at = [...path, group, name];
      if (typeof quantity === 'number') {
        if (quantity < 0) report(at, `must not be negative (got ${quantity})`);
        continue;
      }
      if (typeof quantity !== 'string' || !QUANTITY.test(quantity.trim())) {
        report(at, `must be a Kubernetes quantity such as 256Mi, 1Gi, 500m or 0.5 (got ${shown(quantity)})`);
      } else if (quantity.trim().startsWith('-')) {
        report(at, `must not be negative (got ${shown(quantity)})`);
      }
    }
  }
}

function checkEnv(env: unknown, path: Path, report: Report): void {
  if (!Array.isArray(env)) return;
  env.forEach((entry: unknown, i) => {
    const at = [...path, i];
    if (!isObj(entry)) return;
    if (typeof entry.name !== 'string' || entry.name === '') report([...at, 'name'], 'required');
    const value = entry.value;
    if (value !== undefined && value !== null && typeof value !== 'string') {
      const quoted = typeof value === 'number' || typeof value === 'boolean' ? `: quote it, "${String(value)}"` : '';
      report([...at, 'value'], `must be a string (got ${shown(value)})${quoted}`);
    }
    if (value !== undefined && entry.valueFrom !== undefined) report([...at, 'valueFrom'], 'must not be set with value: one or the other');
  });
}

function checkPorts(ports: unknown, path: Path, report: Report): void {
  if (!Array.isArray(ports)) return;
  const names = new Map<string, number>();
  ports.forEach((port: unknown, i) => {
    const at = [...path, i];
    if (!isObj(port)) return;
    checkPort(port.containerPort, [...at, 'containerPort'], report, true);
    checkPort(port.hostPort, [...at, 'hostPort'], report, false);
    checkEnum(port.protocol, PROTOCOLS, [...at, 'protocol'], report);
    const name = port.name;
    if (name === undefined) return;
    if (typeof name !== 'string' || name.length > 15 || !PORT_NAME.test(name)) {
      report([...at, 'name'], `must be a port name of at most 15 lowercase letters, digits and '-', with a letter (got ${shown(name)})`);
      return;
    }
    const other = names.get(name);
    if (other !== undefined) report([...at, 'name'], `duplicate port name ${JSON.stringify(name)} (also ports[${other}])`);
    else names.set(name, i);
  });
}

/** The rules above for one container of the template (at `path`). */
export function checkContainerFields(container: Record<string, unknown>, path: Path, report: Report): void {
  checkPorts(container.ports, [...path, 'ports'], report);
  checkEnv(container.env, [...path, 'env'], report);
  checkQuantities(container.resources, [...path, 'resources'], report);
  checkEnum(container.imagePullPolicy, IMAGE_PULL_POLICIES, [...path, 'imagePullPolicy'], report);
}
