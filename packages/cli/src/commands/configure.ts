import { Command } from 'commander';
import {
  applyPlan,
  configJsonSchema,
  ConfigureErrorCode,
  isConfigureError,
  loadConfig,
  planChanges,
  planToJson,
  readLiveState,
  renderPlan,
  writeCount,
} from '@rotor/configure';
import type { Plan } from '@rotor/configure';
import { isVaultError } from '@rotor/vault-client';
import { useColor } from '../color.ts';
import { CliError, ExitCode } from '../exit-codes.ts';
import { kubernetesLogin, withKubernetesLoginOptions, type KubernetesLoginOptions } from '../kubernetes-login.ts';
import { vaultClient, withVaultOptions } from '../vault-options.ts';
import type { VaultClient } from '@rotor/vault-client';

interface PlanOptions extends KubernetesLoginOptions {
  config: string;
  prune?: boolean;
  json?: boolean;
  showUnchanged?: boolean;
}

/** Load (validate everything), read live state, plan: no write happens before this returns. */
async function makePlan(options: PlanOptions, client: VaultClient): Promise<Plan> {
  const desired = loadConfig(options.config);
  const live = await readLiveState(client, desired);
  return planChanges(desired, live, { prune: options.prune === true });
}

/**
 * Runs `work` with a client: a token's (VAULT_TOKEN, ...) or, with --k8s-role, one logged in
 * as the service account, whose token is revoked afterwards (it would otherwise live its TTL).
 */
async function withClient(options: PlanOptions, work: (client: VaultClient) => Promise<void>): Promise<void> {
  if (options.k8sRole === undefined) return work(vaultClient(options));
  loadConfig(options.config); // an invalid file fails before any wait for Vault
  const client = await kubernetesLogin({ ...options, k8sRole: options.k8sRole }, (line) => process.stderr.write(`rotor: ${line}\n`));
  try {
    await work(client);
  } finally {
    await client.auth.revokeSelf().catch(() => undefined);
  }
}

/** Maps the configure package's errors to exit codes; messages never hold secrets. */
function asCliError(err: unknown): unknown {
  if (isConfigureError(err)) {
    const code = {
      [ConfigureErrorCode.FILE]: ExitCode.INVALID_CONFIG,
      [ConfigureErrorCode.INVALID]: ExitCode.INVALID_CONFIG,
      [ConfigureErrorCode.CONFLICT]: ExitCode.VAULT,
      [ConfigureErrorCode.READ]: ExitCode.VAULT,
      [ConfigureErrorCode.APPLY]: ExitCode.APPLY_FAILED,
    }[err.code];
    return new CliError(code, err.message, { cause: err });
  }
  if (isVaultError(err)) return new CliError(ExitCode.VAULT, err.message, { cause: err });
  return err;
}

function planOptions(command: Command): Command {
  return withKubernetesLoginOptions(withVaultOptions(command))
    .requiredOption('-c, --config <file>', 'configuration file (YAML)')
    .option('--prune', 'also delete resources of managed kinds that the file does not declare')
    .option('--json', 'print the plan as JSON')
    .option('--show-unchanged', 'list unchanged resources too');
}

/** `rotor configure plan|apply|schema`. */
export function configureCommand(): Command {
  const configure = new Command('configure').description('Vault configuration as code: plan and apply a YAML file');

  planOptions(configure.command('plan').description('show what apply would change (read-only)')).action(async (options: PlanOptions) => {
    try {
      await withClient(options, async (client) => {
        const plan = await makePlan(options, client);
        process.stdout.write(options.json ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : renderPlan(plan, { color: useColor(), showUnchanged: options.showUnchanged === true }));
      });
    } catch (err) {
      throw asCliError(err);
    }
  });

  planOptions(configure.command('apply').description('make Vault match the file (validates and plans first)')).action(async (options: PlanOptions) => {
    try {
      await withClient(options, async (client) => {
        const plan = await makePlan(options, client);
        const color = useColor();
        if (!options.json) process.stdout.write(renderPlan(plan, { color, showUnchanged: options.showUnchanged === true }));
        const result = await applyPlan(client, plan, {
          onAction: (change, action) => {
            if (!options.json) process.stdout.write(`  done: ${action.method} ${action.path} (${change.op} ${change.id})\n`);
          },
        });
        if (options.json) process.stdout.write(`${JSON.stringify({ ...(planToJson(plan) as object), applied: result.writes })}\n`);
        else if (writeCount(plan) > 0) process.stdout.write(`Applied: ${result.writes} write request(s).\n`);
      });
    } catch (err) {
      throw asCliError(err);
    }
  });

  configure
    .command('schema')
    .description('print the JSON Schema of the configuration file')
    .action(() => {
      process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    });

  return configure;
}
