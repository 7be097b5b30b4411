import { readFile } from 'node:fs/promises';
import type { VaultClient } from '@rotor/vault-client';

/** How the service authenticates to Vault. Secrets here are kept private by the source. */
export type VaultLogin =
  | { method: 'token'; token: string }
  | { method: 'approle'; roleId: string; secretId?: string; mount?: string }
  | {
      method: 'kubernetes';
      role: string;
      /** Projected service-account token, re-read at every login (the kubelet rotates it). */
      jwtPath?: string;
      mount?: string;
    };

export const DEFAULT_SA_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** A Vault token and what is known about its lifetime. */
export interface TokenGrant {
  /** A client carrying the token. */
  client: VaultClient;
  /** TTL in seconds at `grantedAtMs`; 0 = never expires (e.g. a root token). */
  durationSec: number;
  grantedAtMs: number;
  renewable: boolean;
  /** Whether a fresh token can be had by logging in again (false for a static token). */
  canRelogin: boolean;
}

/** Logs in (or, for a static token, looks it up) and returns the token's lifetime. */
export async function login(base: VaultClient, how: VaultLogin, now: () => number): Promise<TokenGrant> {
  if (how.method === 'token') {
    const client = base.withToken(how.token);
    const self = await client.auth.lookupSelf();
    return { client, durationSec: self.ttl, grantedAtMs: now(), renewable: self.renewable, canRelogin: false };
  }
  const auth =
    how.method === 'approle'
      ? await base.auth.loginAppRole({ roleId: how.roleId, ...(how.secretId === undefined ? {} : { secretId: how.secretId }), ...(how.mount ? { mount: how.mount } : {}) })
      : await base.auth.loginKubernetes({
          role: how.role,
          jwt: (await readFile(how.jwtPath ?? DEFAULT_SA_TOKEN_PATH, 'utf8')).trim(),
          ...(how.mount ? { mount: how.mount } : {}),
        });
  return { client: base.withToken(auth.clientToken), durationSec: auth.leaseDuration, grantedAtMs: now(), renewable: auth.renewable, canRelogin: true };
}

/** What may be logged about a login method: no token, secret id or JWT. */
export function describeLogin(how: VaultLogin): Record<string, string> {
  switch (how.method) {
    case 'token':
      return { method: 'token' };
    case 'approle':
      return { method: 'approle', mount: how.mount ?? 'approle' };
    case 'kubernetes':
      return { method: 'kubernetes', role: how.role, mount: how.mount ?? 'kubernetes' };
  }
}
