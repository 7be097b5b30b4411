// The unsealer as `rotor status` sees it: its /healthz and /metrics (the
// health port), and the Kubernetes Lease of its leader election.
import type { KubeClients } from '@rotor/unsealer';
import { errorMessage } from '@rotor/vault-client';
import type { UnsealerReport } from './model.ts';

const TIMEOUT_MS = 5_000;

/** The value of an unlabelled gauge in Prometheus text, if present. */
export function gaugeValue(metrics: string, name: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{}`));
  if (line === undefined) return undefined;
  const value = Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(value) ? value : undefined;
}

export async function readUnsealerEndpoint(url: string): Promise<UnsealerReport> {
  const base = url.replace(/\/+$/, '');
  try {
    const health = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const body = (await health.json().catch(() => ({}))) as { healthy?: unknown; state?: unknown; detail?: unknown; paused?: unknown };
    const metrics = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(TIMEOUT_MS) }).then((r) => (r.ok ? r.text() : ''));
    const leading = gaugeValue(metrics, 'rotor_unsealer_leading');
    return {
      url: base,
      reachable: true,
      healthy: body.healthy === true || (body.healthy === undefined && health.ok),
      ...(typeof body.state === 'string' ? { state: body.state } : {}),
      ...(typeof body.detail === 'string' ? { detail: body.detail } : {}),
      ...(typeof body.paused === 'boolean' ? { paused: body.paused } : {}),
      ...(leading !== undefined ? { leading: leading === 1 } : {}),
    };
  } catch (err) {
    return { url: base, reachable: false, error: errorMessage(err) };
  }
}

/** The election Lease: who holds it and whether it is still valid. */
export async function readUnsealerLease(kube: KubeClients, namespace: string, name: string, now = Date.now()): Promise<UnsealerReport['lease']> {
  const lease = await kube.coordination.readNamespacedLease({ namespace, name });
  const holder = lease.spec?.holderIdentity ?? undefined;
  const renew = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  const durationSeconds = lease.spec?.leaseDurationSeconds ?? undefined;
  const renewedSecondsAgo = renew ? Math.max(0, Math.round((now - new Date(renew).getTime()) / 1000)) : undefined;
  const expired = holder === undefined || holder === '' || renewedSecondsAgo === undefined || (durationSeconds !== undefined && renewedSecondsAgo > durationSeconds);
  return {
    name: `${namespace}/${name}`,
    expired,
    ...(holder ? { holder } : {}),
    ...(renewedSecondsAgo !== undefined ? { renewedSecondsAgo } : {}),
    ...(durationSeconds !== undefined ? { durationSeconds } : {}),
  };
}

export function unsealerProblems(u: UnsealerReport): string[] {
  const problems: string[] = [];
  if (u.url !== undefined) {
    if (!u.reachable) problems.push(`the unsealer at ${u.url} is unreachable (${u.error ?? 'error'})`);
    else if (!u.healthy) problems.push(`the unsealer is ${u.state ?? 'unhealthy'}${u.detail ? ` (${u.detail})` : ''}`);
    if (u.paused === true) problems.push('the unsealer is paused: restarted nodes stay sealed');
  }
  if (u.lease) {
    if (u.lease.expired) problems.push(`no unsealer holds the Lease ${u.lease.name}${u.lease.holder ? ` (${u.lease.holder} stopped renewing it ${u.lease.renewedSecondsAgo ?? '?'} s ago)` : ''}`);
  }
  if (u.error !== undefined && u.url === undefined) problems.push(`the unsealer's Lease could not be read (${u.error})`);
  return problems;
}
