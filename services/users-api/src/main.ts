// Entry point run by the Kubernetes deployment and the local demo:
//   node --import tsx --conditions=rotor-source services/users-api/src/main.ts
// Configuration comes from the environment (see docs/users-api.md).
import { inClusterAccess } from '@rotor/db-credentials/service-kit';
import { errorSummary } from '@rotor/vault-client';
import { loadConfig, type Config } from './config.ts';
import { isConfigError } from './errors.ts';
import { createLogger } from './logger.ts';
import { Service } from './service.ts';

function configOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!isConfigError(err)) throw err;
    process.stderr.write(`users-api: ${err.message}\n`);
    process.exit(2);
  }
}

const config = configOrExit();
const log = createLogger(config.logLevel);

let service: Service;
try {
  service = await Service.create({ config, logger: log, kubernetes: inClusterAccess(process.env) });
  await service.listen();
} catch (err) {
  // Expected start failures (bad file, Vault or database unreachable) carry a clear message.
  log.fatal({ err: errorSummary(err) }, 'start-up failed');
  process.exit(1);
}

function shutdown(reason: string): void {
  const { delayMs, drainTimeoutMs } = config.shutdown;
  // A backstop in case something hangs past the drain timeout.
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
service.onSelfStop(() => process.exit(0));
