// Kubernetes' name syntax and Weir's "unknown field" message: shared by the
// kinds' validation (validate.ts) and the traffic routers' configuration.
// Imports nothing, so any module may use it.

// Kubernetes name and label syntax (k8s.io/apimachinery/pkg/util/validation).
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export function subdomainProblem(name: string): string | undefined {
  if (name.length > 253) return 'must be at most 253 characters';
  if (!DNS1123_SUBDOMAIN.test(name)) return 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit';
  return undefined;
}
export function labelNameProblem(name: string): string | undefined {
  if (name.length > 63) return 'must be at most 63 characters';
  if (!DNS1123_LABEL.test(name)) return 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit';
  return undefined;
}
export function serviceNameProblem(name: string): string | undefined {
  if (name.length > 63) return 'must be at most 63 characters';
  if (!DNS1035_LABEL.test(name)) return 'must be a valid Service name: lowercase letters, digits and "-", starting with a letter and ending with a letter or digit';
  return undefined;
}
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix === '' || subdomainProblem(prefix) !== undefined)) return 'has an invalid prefix: it must be a DNS-1123 subdomain such as example.com';
  if (name === '' || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return 'must be a valid key: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, with an optional DNS prefix and "/"';
  }
  return undefined;
}
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !QUALIFIED_NAME_PART.test(value)) return 'must be a valid label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  return undefined;
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment), case-insensitive. */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const d: number[][] = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= x.length; i++) {
    const row = d[i];
    if (!row) continue;
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(x.length, y.length);
}

export function unknownFieldMessage(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const hint = best !== undefined && bestDistance <= (best.length <= 4 ? 1 : 2) ? ` (did you mean "${best}"?)` : '';
  return `unknown field${hint}: the schema has no such field`;
}
