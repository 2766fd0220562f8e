// Label selectors in their string form (metav1.FormatLabelSelector), for
// status.selector and the scale subresource.
import type { LabelSelector } from '../api/common.ts';

interface Requirement {
  key: string;
  text: string;
}

/** The selector as Kubernetes prints it: requirements sorted by key; "<none>" when empty. */
export function formatLabelSelector(selector: LabelSelector | undefined): string {
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {})) reqs.push({ key, text: `${key}=${value}` });
  for (const expr of selector?.matchExpressions ?? []) {
    const values = [...(expr.values ?? [])].sort().join(',');
    switch (expr.operator) {
      case 'In':
        reqs.push({ key: expr.key, text: `${expr.key} in (${values})` });
        break;
      case 'NotIn':
        reqs.push({ key: expr.key, text: `${expr.key} notin (${values})` });
        break;
      case 'Exists':
        reqs.push({ key: expr.key, text: expr.key });
        break;
      case 'DoesNotExist':
        reqs.push({ key: expr.key, text: `!${expr.key}` });
        break;
    }
  }
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  const text = reqs.map((r) => r.text).join(',');
  return text === '' ? '<none>' : text;
}
