// Kubernetes API errors, reduced to what a person needs: the HTTP code, the
// reason and the API server's message (client-node's own message carries
// the whole response, headers included).

export interface KubeErrorInfo {
  code: number | undefined;
  reason: string | undefined;
  message: string;
}

function parseBody(body: unknown): { reason?: string; message?: string } | undefined {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as { reason?: string; message?: string };
    } catch {
      return { message: body };
    }
  }
  if (typeof body === 'object' && body !== null) return body;
  return undefined;
}

export function kubeErrorInfo(err: unknown): KubeErrorInfo {
  if (typeof err === 'object' && err !== null && 'code' in err && 'body' in err) {
    const code = typeof err.code === 'number' ? err.code : undefined;
    const status = parseBody(err.body);
    return { code, reason: status?.reason, message: status?.message ?? `HTTP ${String(code)}` };
  }
  return { code: undefined, reason: undefined, message: err instanceof Error ? err.message : String(err) };
}

export function kubeErrorCode(err: unknown): number | undefined {
  return kubeErrorInfo(err).code;
}

/** One line: "422 Invalid: CustomResourceDefinition ... is invalid: ...". */
export function describeKubeError(err: unknown): string {
  const info = kubeErrorInfo(err);
  if (info.code === undefined) return info.message;
  return `${info.code}${info.reason ? ` ${info.reason}` : ''}: ${info.message}`;
}
