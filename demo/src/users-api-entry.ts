// users-api's entry point as the demo runs it: services/users-api/src/main.ts,
// except that the credential source of `file` and `vault` mode is built here
// from @rotor/db-credentials while users-api's own createCredentialSource does
// not wire them yet. Same environment, same Service, same logs and metrics.
// Delete this file and point USERS_API_ENTRY at services/users-api/src/main.ts
// once users-api builds these sources itself.
import { readFileSync } from 'node:fs';
import { AgentFileSource, VaultLeaseSource, type CredentialSource, type VaultLogin } from '@rotor/db-credentials';
import { createLogger, isConfigError, loadConfig, Service, type Config } from '@rotor/users-api';
import { VaultClient } from '@rotor/vault-client';
import type { Logger } from 'pino';

function configOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!isConfigError(err)) throw err;
    process.stderr.write(`users-api: ${err.message}\n`);
    process.exit(2);
  }
}

function sourceFor(config: Config, log: Logger): CredentialSource | undefined {
  const c = config.credentials;
  if (c.mode === 'file') return new AgentFileSource({ path: c.path, watch: c.refresh === 'agent', logger: log });
  if (c.mode !== 'vault') return undefined;
  const login: VaultLogin =
    c.auth.method === 'kubernetes'
      ? { method: 'kubernetes', role: c.auth.role, jwtPath: c.auth.jwtPath, mount: c.auth.mount }
      : c.auth.method === 'approle'
        ? { method: 'approle', roleId: c.auth.roleId, secretId: c.auth.secretId, mount: c.auth.mount }
        : { method: 'token', token: c.auth.token };
  const vault = new VaultClient({ address: c.address, ...(c.caCertPath ? { caCert: readFileSync(c.caCertPath, 'utf8') } : {}) });
  return new VaultLeaseSource({ vault, login, role: c.dbRole, mount: c.dbMount, logger: log });
}

const config = configOrExit();
const log = createLogger(config.logLevel);

let service: Service;
try {
  const source = sourceFor(config, log);
  service = await Service.create({ config, logger: log, ...(source ? { source } : {}) });
  await service.listen();
} catch (err) {
  log.fatal({ err: { message: err instanceof Error ? err.message : String(err), code: (err as { code?: unknown }).code } }, 'start-up failed');
  process.exit(1);
}

function shutdown(reason: string): void {
  const { delayMs, drainTimeoutMs } = config.shutdown;
  setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(1);
  }, delayMs + drainTimeoutMs + 10_000).unref();
  service.stop(reason).then(
    () => process.exit(0),
    (err: unknown) => {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
}

process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));
