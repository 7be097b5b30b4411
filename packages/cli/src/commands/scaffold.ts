// `rotor scaffold service NAME`: prints what a new service needs to get its
// own database credentials: Vault policy, auth and database roles, and the
// Kubernetes objects (ServiceAccount, Deployment with the agent annotations,
// PodDisruptionBudget, NetworkPolicy, ...). Writes nothing. docs/adding-a-service.md.
import { Command, Option } from 'commander';
import { CliError, ExitCode } from '../exit-codes.ts';
import { commaList, integer } from '../k8s-options.ts';
import { PARTS, renderPart, renderScaffold, type Part } from '../scaffold/render.ts';
import { readShippedTemplate, scaffoldService, validateInput, type Access, type DeliveryMode } from '../scaffold/service.ts';

interface ServiceOptions {
  namespace: string;
  access: Access;
  tables?: string[];
  mode: DeliveryMode;
  ttl: string;
  maxTtl?: string;
  connection: string;
  mount: string;
  authMount: string;
  image?: string;
  replicas: number;
  port: number;
  only?: Part;
  json?: boolean;
}

export function scaffoldCommand(): Command {
  const scaffold = new Command('scaffold').description('print the configuration and manifests for something new (writes nothing)');
  scaffold
    .command('service')
    .description("a new service with its own database role: Vault policy and roles, agent annotations, Deployment, PDB, NetworkPolicy")
    .argument('<name>', 'the service: Deployment, ServiceAccount and prefix of its Vault names (a DNS label)')
    .option('--namespace <namespace>', 'namespace of the service', 'app')
    .addOption(new Option('--access <access>', 'read: SELECT only; write: SELECT, INSERT, UPDATE, DELETE').choices(['read', 'write']).default('read'))
    .option('--tables <list>', 'tables to grant, comma-separated (default: every table in schema public)', commaList)
    .addOption(new Option('--mode <mode>', 'credential delivery').choices(['init-container', 'sidecar', 'direct']).default('init-container'))
    .option('--ttl <duration>', "credentials' default TTL and the login token's TTL", '1h')
    .option('--max-ttl <duration>', "credentials' max TTL (default: the mount's)")
    .option('--connection <name>', 'database connection of the secrets engine', 'postgres')
    .option('--mount <path>', 'database secrets engine mount', 'database')
    .option('--auth-mount <path>', 'kubernetes auth method mount', 'kubernetes')
    .option('--image <image>', "the service's image (default: registry.example/NAME:0.1.0, a placeholder)")
    .option('--replicas <n>', 'replicas', integer('--replicas', 1), 2)
    .option('--port <port>', 'HTTP port (metrics, probes)', integer('--port', 1), 8080)
    .addOption(new Option('--only <part>', 'print one part alone: policy (HCL), config (YAML fragments), kubernetes (YAML stream)').choices([...PARTS]))
    .option('--json', 'print everything as one JSON object')
    .action((name: string, options: ServiceOptions) => {
      const input = {
        name,
        namespace: options.namespace,
        access: options.access,
        tables: options.tables ?? [],
        mode: options.mode,
        ttl: options.ttl,
        ...(options.maxTtl !== undefined ? { maxTtl: options.maxTtl } : {}),
        connection: options.connection,
        mount: options.mount,
        authMount: options.authMount,
        image: options.image ?? `registry.example/${name}:0.1.0`,
        replicas: options.replicas,
        port: options.port,
      };
      const problems = validateInput(input);
      if (problems.length > 0) throw new CliError(ExitCode.USAGE, problems.join('; '));
      const result = scaffoldService(input, readShippedTemplate());
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      else process.stdout.write(options.only ? renderPart(result, options.only) : renderScaffold(result));
    });
  return scaffold;
}
