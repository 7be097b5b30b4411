// The injector model served as a real admission webhook: the API server calls it over HTTPS
// through the manifest's own MutatingWebhookConfiguration, so its failurePolicy,
// namespaceSelector, TLS and object selection run for real. Only the mutation is modelled
// (injector.ts).
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mutatePod, type InjectorOptions, type Pod } from './injector.ts';

/** The parts of an admission.k8s.io/v1 AdmissionReview request that the injector reads. */
interface AdmissionReview {
  apiVersion?: string;
  kind?: string;
  request?: { uid?: string; kind?: { kind?: string }; namespace?: string; object?: Pod };
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; message: string };
  patchType?: 'JSONPatch';
  patch?: string;
}

/**
 * The webhook's answer to one review: the whole mutated pod as a JSON patch of its metadata and
 * spec (the API server applies it and re-validates the result), or a refusal with the model's
 * reason, which the API server shows to whoever created the pod.
 */
export function review(body: AdmissionReview, options: InjectorOptions): AdmissionResponse {
  const uid = body.request?.uid ?? '';
  const pod = body.request?.object;
  if (body.request?.kind?.kind !== 'Pod' || pod === undefined) {
    return { uid, allowed: false, status: { code: 400, message: 'the agent injector only mutates pods' } };
  }
  // The namespace comes with the request: a pod created by a controller has none in its body yet.
  const withNamespace: Pod = { ...pod, metadata: { ...pod.metadata, namespace: pod.metadata.namespace ?? body.request?.namespace } };
  let mutated: Pod;
  try {
    mutated = mutatePod(withNamespace, options);
  } catch (err) {
    return { uid, allowed: false, status: { code: 500, message: `error injecting the Vault agent: ${(err as Error).message}` } };
  }
  if (JSON.stringify(mutated) === JSON.stringify(withNamespace)) return { uid, allowed: true };
  const patch = [
    // "add" sets the member whether or not the pod has annotations yet.
    { op: 'add', path: '/metadata/annotations', value: mutated.metadata.annotations ?? {} },
    { op: 'replace', path: '/spec', value: mutated.spec },
  ];
  return { uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export interface WebhookTls {
  cert: string;
  key: string;
}

export interface InjectorWebhook {
  server: Server;
  /** Serves with a new certificate from now on (TLS_AUTO rotation). */
  setTls(tls: WebhookTls): void;
  close(): Promise<void>;
}

/** Starts the HTTPS webhook: POST /mutate (AdmissionReview v1) and GET /health/ready. */
export async function startInjectorWebhook(input: {
  host?: string;
  port: number;
  tls: WebhookTls;
  options: InjectorOptions;
  log: (line: Record<string, unknown>) => void;
}): Promise<InjectorWebhook> {
  const server = createServer({ cert: input.tls.cert, key: input.tls.key }, (req, res) => {
    void (async () => {
      if (req.method === 'GET' && req.url === '/health/ready') return send(res, 200, { ready: true });
      if (req.url?.split('?')[0] !== '/mutate') return send(res, 404, { error: 'not found' });
      if (req.method !== 'POST') return send(res, 405, { error: 'method not allowed' });
      let body: AdmissionReview;
      try {
        body = JSON.parse(await readBody(req)) as AdmissionReview;
      } catch (err) {
        return send(res, 400, { error: `not an AdmissionReview: ${(err as Error).message}` });
      }
      const response = review(body, input.options);
      const pod = body.request?.object?.metadata;
      input.log({
        msg: response.allowed ? 'mutated pod' : 'refused pod',
        namespace: body.request?.namespace,
        pod: pod?.name ?? pod?.generateName,
        ...(response.status ? { reason: response.status.message } : {}),
      });
      send(res, 200, { apiVersion: body.apiVersion ?? 'admission.k8s.io/v1', kind: 'AdmissionReview', response });
    })().catch((err: unknown) => send(res, 500, { error: (err as Error).message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(input.port, input.host, () => resolve());
  });
  return {
    server,
    setTls: (tls) => server.setSecureContext({ cert: tls.cert, key: tls.key }),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
