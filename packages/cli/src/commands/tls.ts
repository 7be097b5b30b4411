// `rotor tls issue`: the CA of a deployment without cert-manager, and server certificates from
// it, as PEM files to put into the Secrets deploy/overlays/production mounts (docs/operations.md).
// The first run makes the CA in --ca-dir; later runs reuse it, so renewing is running it again.
// Keys are written 0600 and never printed.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Command } from 'commander';
import { errorMessage } from '@rotor/vault-client';
import { CliError, ExitCode } from '../exit-codes.ts';
import { createCa, issueServerCertificate, type CaPem } from '../tls/certificates.ts';

interface IssueOptions {
  caDir: string;
  name: string;
  out: string;
  dns: string[];
  ip: string[];
  days: number;
  caDays: number;
}

const list = (text: string, previous: string[] = []): string[] => [...previous, ...text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)];

function positive(flag: string): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new CliError(ExitCode.USAGE, `${flag} must be a whole number of days, got ${JSON.stringify(text)}`);
    return n;
  };
}

/** The CA in `dir`: read, or made when neither file exists. One file without the other is refused. */
async function loadOrCreateCa(dir: string, days: number): Promise<{ ca: CaPem; created: boolean }> {
  const [certFile, keyFile] = [join(dir, 'ca.crt'), join(dir, 'ca.key')];
  const [hasCert, hasKey] = [existsSync(certFile), existsSync(keyFile)];
  if (hasCert && hasKey) return { ca: { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') }, created: false };
  if (hasCert || hasKey) throw new CliError(ExitCode.USAGE, `${dir} holds ${hasCert ? 'ca.crt without ca.key' : 'ca.key without ca.crt'}: restore the pair, or use an empty directory for a new CA`);
  const ca = await createCa({ commonName: 'rotor-ca', days });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile, ca.key, { mode: 0o600, flag: 'wx' });
  writeFileSync(certFile, ca.cert, { flag: 'wx' });
  return { ca, created: true };
}

async function issue(options: IssueOptions): Promise<void> {
  if (!/^[a-z0-9][a-z0-9.-]*$/i.test(options.name)) throw new CliError(ExitCode.USAGE, `--name must be a file name stem (letters, digits, '.', '-'), got ${JSON.stringify(options.name)}`);
  const notIp = options.ip.filter((a) => isIP(a) === 0);
  if (notIp.length > 0) throw new CliError(ExitCode.USAGE, `--ip takes IP addresses, not ${notIp.join(', ')} (names go to --dns)`);
  const names = [...options.dns, ...options.ip];
  if (names.length === 0) throw new CliError(ExitCode.USAGE, 'give the names clients dial: --dns and/or --ip');
  const { ca, created } = await loadOrCreateCa(options.caDir, options.caDays);
  let leaf;
  try {
    leaf = await issueServerCertificate(ca, { names, days: options.days });
  } catch (err) {
    throw new CliError(ExitCode.USAGE, `cannot sign with the CA in ${options.caDir}: ${errorMessage(err)}`);
  }
  mkdirSync(options.out, { recursive: true });
  const [certFile, keyFile] = [join(options.out, `${options.name}.crt`), join(options.out, `${options.name}.key`)];
  writeFileSync(keyFile, leaf.key, { mode: 0o600 });
  writeFileSync(certFile, leaf.cert);
  if (created) process.stdout.write(`rotor: new CA ${join(options.caDir, 'ca.crt')} (key ${join(options.caDir, 'ca.key')}: keep it offline)\n`);
  process.stdout.write(`rotor: ${certFile} and ${keyFile} for ${names.join(', ')}, serial ${leaf.serialNumber}, valid until ${leaf.notAfter.toISOString()}\n`);
}

export function tlsCommand(): Command {
  return new Command('tls')
    .description("a CA of the deployment's own and server certificates from it, for clusters without cert-manager")
    .addCommand(
      new Command('issue')
        .description('write <out>/<name>.crt and .key signed by the CA in --ca-dir (made there on first use)')
        .requiredOption('--ca-dir <dir>', 'where the CA lives: ca.crt and ca.key (0600), created if both are missing')
        .requiredOption('--name <name>', 'file name stem of the certificate, e.g. vault')
        .option('--out <dir>', 'where to write <name>.crt and <name>.key', '.')
        .option('--dns <names>', 'DNS names it must hold (comma-separated, repeatable; wildcards allowed)', list, [])
        .option('--ip <addresses>', 'IP addresses it must hold (comma-separated, repeatable)', list, [])
        .option('--days <n>', 'validity of the certificate', positive('--days'), 90)
        .option('--ca-days <n>', 'validity of a new CA', positive('--ca-days'), 3650)
        .action(issue),
    );
}
