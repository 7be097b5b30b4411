// How this process gets its credentials, as metrics the alert rules and the dashboard
// join on (deploy/monitoring): the delivery mode decides what "about to expire" means.
// An init container's file is never refreshed (the pod leaves before expiry), a direct
// lease is renewed at about 2/3 of its term, and a sidecar agent renews the lease
// behind a file whose expiry is only a lower bound.
import type { DbCredentials } from '@rotor/db-credentials';
import { Gauge, type Registry } from 'prom-client';
import type { CredentialsConfig } from './config.ts';

export type DeliveryMode = 'init-container' | 'sidecar' | 'direct' | 'static';

export function deliveryMode(credentials: CredentialsConfig): DeliveryMode {
  switch (credentials.mode) {
    case 'static':
      return 'static';
    case 'vault':
      return 'direct';
    case 'file':
      return credentials.refresh === 'agent' ? 'sidecar' : 'init-container';
  }
}

/** The database role a lease id names (`<mount>/creds/<role>/<id>`); "unknown" otherwise. Never the id itself. */
export function roleOfLease(leaseId: string | undefined): string {
  const match = /(?:^|\/)creds\/([^/]+)\/[^/]+$/.exec(leaseId ?? '');
  return match?.[1] ?? 'unknown';
}

/**
 * How long before expiry the credentials are replaced in normal operation, in seconds;
 * undefined where no such promise exists (sidecar: the agent renews unseen; static).
 * init-container: the planned exit's lead; direct: the third of the lease left at renewal.
 */
export function rotationLeadSeconds(mode: DeliveryMode, current: DbCredentials, plannedExitMs: number | undefined): number | undefined {
  if (mode === 'init-container') {
    const expiresAt = current.expiresAt?.getTime();
    return expiresAt === undefined || plannedExitMs === undefined ? undefined : Math.max(0, (expiresAt - plannedExitMs) / 1000);
  }
  if (mode === 'direct') return current.leaseDuration > 0 ? current.leaseDuration / 3 : undefined;
  return undefined;
}

export interface DeliveryMetricsSource {
  mode: DeliveryMode;
  current(): DbCredentials;
  /** When an init-container pod plans to leave (ms since epoch), once scheduled. */
  plannedExitMs(): number | undefined;
}

/**
 * rotor_db_credentials_delivery_info{mode, role} 1, and
 * rotor_db_credentials_rotation_lead_seconds{mode} where the mode promises a lead.
 * Both are read at scrape time, so they follow rotations.
 */
export function registerDeliveryMetrics(registry: Registry, source: DeliveryMetricsSource): void {
  new Gauge({
    name: 'rotor_db_credentials_delivery_info',
    help: 'How this process gets its database credentials (mode: init-container, sidecar, direct, static) and for which database role. Always 1.',
    labelNames: ['mode', 'role'],
    registers: [registry],
    collect() {
      this.reset();
      this.set({ mode: source.mode, role: source.mode === 'static' ? 'static' : roleOfLease(source.current().leaseId) }, 1);
    },
  });
  new Gauge({
    name: 'rotor_db_credentials_rotation_lead_seconds',
    help: 'How long before expiry the credentials are replaced in normal operation (init-container: the pod leaves; direct: the lease is renewed). Absent in sidecar and static mode.',
    labelNames: ['mode'],
    registers: [registry],
    collect() {
      this.reset();
      const lead = rotationLeadSeconds(source.mode, source.current(), source.plannedExitMs());
      if (lead !== undefined) this.set({ mode: source.mode }, lead);
    },
  });
}
