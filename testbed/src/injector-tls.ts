// TLS_AUTO of the agent injector, as vault-k8s does it: the injector makes its own CA and serving
// certificate, shares them between replicas through one Secret, and writes the CA into its
// MutatingWebhookConfiguration's caBundle, so the manifest needs no certificate of its own.
// The container's root filesystem is read-only, so everything happens in memory (no openssl).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { AdmissionregistrationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { WebhookTls } from './injector-webhook.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const VALIDITY_MS = 365 * 24 * 3600_000;

export interface WebhookCertificates extends WebhookTls {
  ca: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

/** A fresh CA and a serving certificate for the given DNS names, signed by it. */
export async function generateWebhookCertificates(hosts: string[], now = new Date()): Promise<WebhookCertificates> {
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + VALIDITY_MS);
  const caKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Agent Inject CA',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  const leafKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hosts[0] ?? 'agent-injector'}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(hosts.map((value) => ({ type: 'dns' as const, value }))),
    ],
  });
  return {
    ca: ca.toString('pem'),
    cert: leaf.toString('pem'),
    key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)),
  };
}

function status(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const unb64 = (text: string | undefined): string => Buffer.from(text ?? '', 'base64').toString('utf8');

/**
 * The certificates every replica serves: read from the shared Secret, or made and stored by the
 * first replica to get there (create is atomic: a replica that loses the race reads the winner's).
 * Then the webhook configuration's caBundle is set to the CA (idempotent).
 */
export async function ensureWebhookTls(input: {
  kube: KubeConfig;
  namespace: string;
  secretName: string;
  webhookConfiguration: string;
  hosts: string[];
}): Promise<WebhookCertificates> {
  const core = input.kube.makeApiClient(CoreV1Api);
  const read = async (): Promise<WebhookCertificates | undefined> => {
    try {
      const secret = await core.readNamespacedSecret({ name: input.secretName, namespace: input.namespace });
      return { ca: unb64(secret.data?.['ca.crt']), cert: unb64(secret.data?.['tls.crt']), key: unb64(secret.data?.['tls.key']) };
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw new Error(`reading Secret ${input.namespace}/${input.secretName} failed (status ${status(err) ?? 'unknown'})`, { cause: err });
    }
  };
  let certs = await read();
  if (certs === undefined) {
    const made = await generateWebhookCertificates(input.hosts);
    try {
      await core.createNamespacedSecret({
        namespace: input.namespace,
        body: {
          metadata: { name: input.secretName, labels: { 'app.kubernetes.io/name': 'vault-agent-injector' } },
          type: 'kubernetes.io/tls',
          data: { 'ca.crt': b64(made.ca), 'tls.crt': b64(made.cert), 'tls.key': b64(made.key) },
        },
      });
      certs = made;
    } catch (err) {
      if (status(err) !== 409) throw new Error(`creating Secret ${input.namespace}/${input.secretName} failed (status ${status(err) ?? 'unknown'})`, { cause: err });
      certs = await read();
      if (certs === undefined) throw new Error(`Secret ${input.namespace}/${input.secretName} vanished after a create conflict`, { cause: err });
    }
  }
  const admission = input.kube.makeApiClient(AdmissionregistrationV1Api);
  const configuration = await admission.readMutatingWebhookConfiguration({ name: input.webhookConfiguration });
  const caBundle = b64(certs.ca);
  const patch = (configuration.webhooks ?? [])
    .map((webhook, i) => ({ webhook, i }))
    .filter(({ webhook }) => webhook.clientConfig.caBundle !== caBundle)
    .map(({ i }) => ({ op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle }));
  if (patch.length > 0) {
    await admission.patchMutatingWebhookConfiguration({ name: input.webhookConfiguration, body: patch }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
  }
  return certs;
}
