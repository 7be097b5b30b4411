// A CA of the deployment's own and the server certificates it signs, for clusters without
// cert-manager (`rotor tls issue`). Pure generation in memory with WebCrypto and
// @peculiar/x509: no openssl needed. ECDSA P-256, as cert-manager's Certificates in
// deploy/overlays/production ask for.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600_000;
/** Clocks of other machines may run a little behind. */
const BACKDATE_MS = 5 * 60_000;

export interface CaPem {
  cert: string;
  key: string;
}

export interface ServerCertificate {
  cert: string;
  key: string;
  serialNumber: string;
  notAfter: Date;
}

function pem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

function derOf(text: string, label: string): Buffer {
  const match = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`).exec(text);
  if (!match?.[1]) throw new Error(`no ${label} PEM block`);
  return Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
}

/** 16 random bytes, first bit clear: a positive serial as RFC 5280 wants. */
function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

async function keyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

/** A new CA: self-signed, may sign end-entity certificates only (path length 0). */
export async function createCa(input: { commonName: string; days: number; now?: Date }): Promise<CaPem> {
  const now = input.now ?? new Date();
  const keys = await keyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${input.commonName}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + input.days * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) };
}

/** A TLS server certificate for `names` (DNS names and IP addresses), signed by `ca`, with a new key. */
export async function issueServerCertificate(ca: CaPem, input: { names: readonly string[]; days: number; now?: Date }): Promise<ServerCertificate> {
  if (input.names.length === 0) throw new Error('a server certificate needs at least one DNS name or IP address');
  const now = input.now ?? new Date();
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', derOf(ca.key, 'PRIVATE KEY'), ALGORITHM, false, ['sign']);
  const keys = await keyPair();
  const notAfter = new Date(Math.min(now.getTime() + input.days * DAY_MS, caCert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${input.names[0] ?? ''}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(input.names.map((value) => ({ type: isIP(value) === 0 ? ('dns' as const) : ('ip' as const), value }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return {
    cert: cert.toString('pem'),
    key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    serialNumber: cert.serialNumber,
    notAfter,
  };
}
