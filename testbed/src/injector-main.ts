// Entry point of the testbed's agent-injector image: the model of vault-k8s's `agent-inject`
// command, configured by the same AGENT_INJECT_* environment as the real one.
import { KubeConfig } from '@kubernetes/client-node';
import { injectorOptionsFromEnv } from './injector.ts';
import { ensureWebhookTls } from './injector-tls.ts';
import { startInjectorWebhook } from './injector-webhook.ts';

const log = (line: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
};

async function main(): Promise<void> {
  // vault-k8s's image runs `vault-k8s agent-inject`; the manifest passes that as its args.
  const [command] = process.argv.slice(2);
  if (command !== 'agent-inject') throw new Error(`usage: agent-inject (got ${command ?? 'nothing'})`);
  const env = Object.entries(process.env).map(([name, value]) => ({ name, value }));
  const options = injectorOptionsFromEnv(env);
  const listen = process.env.AGENT_INJECT_LISTEN ?? ':8080';
  const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
  const webhookConfiguration = process.env.AGENT_INJECT_TLS_AUTO;
  const hosts = (process.env.AGENT_INJECT_TLS_AUTO_HOSTS ?? '').split(',').filter((h) => h !== '');
  const namespace = process.env.NAMESPACE;
  if (webhookConfiguration === undefined || hosts.length === 0 || namespace === undefined) {
    throw new Error('this model serves only with AGENT_INJECT_TLS_AUTO, AGENT_INJECT_TLS_AUTO_HOSTS and NAMESPACE set');
  }
  const kube = new KubeConfig();
  kube.loadFromCluster();
  const tls = await ensureWebhookTls({ kube, namespace, secretName: 'injector-certs', webhookConfiguration, hosts });
  const webhook = await startInjectorWebhook({ port, tls, options, log });
  log({ msg: 'agent injector listening', port, image: options.image, webhookConfiguration });
  const stop = (): void => {
    log({ msg: 'stopping' });
    void webhook.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  log({ msg: 'agent injector failed', error: (err as Error).message });
  process.exit(1);
});
