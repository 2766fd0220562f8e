// Readiness and liveness probes (httpGet and tcpSocket) against a pod's address.
import { request } from 'node:http';
import { connect } from 'node:net';
import type { V1Container, V1Probe } from '@kubernetes/client-node';

export interface ProbeSettings {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Kubernetes' defaults for a probe's timing fields. */
export function probeSettings(probe: V1Probe): ProbeSettings {
  return {
    initialDelayMs: (probe.initialDelaySeconds ?? 0) * 1000,
    periodMs: (probe.periodSeconds ?? 10) * 1000,
    timeoutMs: (probe.timeoutSeconds ?? 1) * 1000,
    successThreshold: probe.successThreshold ?? 1,
    failureThreshold: probe.failureThreshold ?? 3,
  };
}

/** A port given by number or by the name of one of the container's ports. */
export function resolvePort(port: number | string | undefined, container: V1Container): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export type ProbeOutcome = { ok: true } | { ok: false; reason: string };

export function runProbe(probe: V1Probe, container: V1Container, podIp: string, timeoutMs: number): Promise<ProbeOutcome> {
  if (probe.httpGet) {
    const port = resolvePort(probe.httpGet.port, container);
    if (port === undefined) return Promise.resolve({ ok: false, reason: `unknown probe port ${String(probe.httpGet.port)}` });
    const path = probe.httpGet.path ?? '/';
    const headers = Object.fromEntries((probe.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
    return new Promise((resolve) => {
      const req = request({ host: podIp, port, path, method: 'GET', headers, timeout: timeoutMs }, (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status >= 200 && status < 400 ? { ok: true } : { ok: false, reason: `HTTP probe failed with statuscode: ${status}` });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        resolve({ ok: false, reason: `Get http://${podIp}:${port}${path}: ${err.message}` });
      });
      req.end();
    });
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, container);
    if (port === undefined) return Promise.resolve({ ok: false, reason: `unknown probe port ${String(probe.tcpSocket.port)}` });
    return new Promise((resolve) => {
      const socket = connect({ host: podIp, port, timeout: timeoutMs });
      socket.once('connect', () => {
        socket.destroy();
        resolve({ ok: true });
      });
      socket.once('timeout', () => socket.destroy(new Error('timeout')));
      socket.once('error', (err) => {
        resolve({ ok: false, reason: `dial tcp ${podIp}:${port}: ${err.message}` });
      });
    });
  }
  // exec and grpc probes need a container runtime the stand-in does not have.
  return Promise.resolve({ ok: true });
}
