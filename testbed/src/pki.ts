import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TestbedError } from './errors.ts';

const run = promisify(execFile);

/** A throwaway certificate authority: PEM files in a test's temp dir. */
export interface TestCa {
  certFile: string;
  keyFile: string;
  /** The CA certificate, PEM, for clients that must trust it. */
  certPem: string;
}

export interface ServingCert {
  certFile: string;
  keyFile: string;
}

// node:crypto makes keys but not X.509 certificates, so the openssl CLI does.
async function openssl(args: string[], dir: string): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir, timeout: 30_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new TestbedError('TESTBED_PKI', `openssl ${args[0] ?? ''} failed: ${stderr.trim() || String(err)}`, { cause: err });
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A CA valid for two days: long enough for any test run, useless afterwards. */
export async function createTestCa(dir: string, name: string): Promise<TestCa> {
  const certFile = join(dir, `${name}-ca.crt`);
  const keyFile = join(dir, `${name}-ca.key`);
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', keyFile, '-out', certFile, '-subj', `/CN=${name}-ca`, '-days', '2'], dir);
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
}

export interface ServingCertOptions {
  ips?: string[];
  dnsNames?: string[];
}

/** A TLS server certificate signed by `ca`, for the given loopback IPs and DNS names. */
export async function issueServingCert(ca: TestCa, dir: string, name: string, options: ServingCertOptions): Promise<ServingCert> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  const sans = [...(options.ips ?? []).map((ip) => `IP:${ip}`), ...(options.dnsNames ?? []).map((dns) => `DNS:${dns}`)];
  writeFileSync(
    extFile,
    [
      `subjectAltName=${sans.join(',')}`,
      'extendedKeyUsage=serverAuth',
      'keyUsage=critical,digitalSignature',
      'basicConstraints=critical,CA:FALSE',
      '',
    ].join('\n'),
  );
  await openssl(['req', '-new', ...EC_KEY, '-keyout', keyFile, '-out', csrFile, '-subj', `/CN=${name}`], dir);
  await openssl(
    ['x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-days', '2', '-out', certFile, '-extfile', extFile],
    dir,
  );
  return { certFile, keyFile };
}

export interface ClientCertOptions {
  /** The user name Kubernetes sees, e.g. system:node:rotor-node. */
  commonName: string;
  /** Its groups, e.g. system:nodes. */
  organizations?: string[];
}

/** A TLS client certificate signed by `ca`: how Kubernetes components authenticate to the apiserver. */
export async function issueClientCert(ca: TestCa, dir: string, name: string, options: ClientCertOptions): Promise<ServingCert> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const csrFile = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ['extendedKeyUsage=clientAuth', 'keyUsage=critical,digitalSignature', 'basicConstraints=critical,CA:FALSE', ''].join('\n'));
  // openssl -subj: "/" separates RDNs, so names holding one are escaped.
  const rdn = (value: string): string => value.replace(/[/\\]/g, (c) => `\\${c}`);
  const subject = [...(options.organizations ?? []).map((o) => `/O=${rdn(o)}`), `/CN=${rdn(options.commonName)}`].join('');
  await openssl(['req', '-new', ...EC_KEY, '-keyout', keyFile, '-out', csrFile, '-subj', subject], dir);
  await openssl(['x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-days', '2', '-out', certFile, '-extfile', extFile], dir);
  return { certFile, keyFile };
}
