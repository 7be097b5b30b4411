// Chooses the credential source for the configured mode.
import { readFileSync } from 'node:fs';
import { VaultClient } from '@rotor/vault-client';
import type { Logger } from 'pino';
import { AgentFileSource } from '../agent-file-source.ts';
import type { CredentialMetrics } from '../metrics.ts';
import type { CredentialSource } from '../source.ts';
import { VaultLeaseSource } from '../vault-lease-source.ts';
import type { VaultLogin } from '../vault-login.ts';
import type { CredentialsConfig, VaultAuthConfig } from './credential-modes.ts';
import { StaticSource } from './static-source.ts';

function vaultLogin(auth: VaultAuthConfig): VaultLogin {
  switch (auth.method) {
    case 'token':
      return { method: 'token', token: auth.token };
    case 'approle':
      return { method: 'approle', roleId: auth.roleId, secretId: auth.secretId, mount: auth.mount };
    case 'kubernetes':
      return { method: 'kubernetes', role: auth.role, jwtPath: auth.jwtPath, mount: auth.mount };
  }
}

export function createCredentialSource(config: CredentialsConfig, metrics: CredentialMetrics, logger: Logger): CredentialSource {
  switch (config.mode) {
    case 'static':
      return new StaticSource(config.username, config.password);
    case 'file':
      return new AgentFileSource({ path: config.path, watch: config.refresh === 'agent', metrics, logger });
    case 'vault': {
      const caCert = config.caCertPath === undefined ? undefined : readFileSync(config.caCertPath, 'utf8');
      const vault = new VaultClient({ address: config.address, ...(caCert === undefined ? {} : { caCert }) });
      return new VaultLeaseSource({ vault, login: vaultLogin(config.auth), role: config.dbRole, mount: config.dbMount, metrics, logger });
    }
  }
}
