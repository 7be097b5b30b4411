import type { CoreV1Api } from '@kubernetes/client-node';
import { UnsealerError, UnsealerErrorCode } from './errors.ts';
import { KeyCodec, type KeyStore } from './key-store.ts';
import type { UnsealKeys } from './keys.ts';
import { kubeError, kubeStatus } from './k8s.ts';

const DATA_KEY = 'unseal-keys.json';

/**
 * Keys in a Kubernetes Secret, created once and marked immutable, so neither
 * this unsealer nor a stray `kubectl apply` can replace them.
 */
export class KubernetesSecretKeyStore implements KeyStore {
  readonly description: string;
  readonly #api: CoreV1Api;
  readonly #namespace: string;
  readonly #name: string;
  readonly #codec: KeyCodec;

  constructor(api: CoreV1Api, options: { namespace: string; name: string; envelopeKey?: Buffer }) {
    this.#api = api;
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.description = `k8s-secret:${options.namespace}/${options.name}`;
    this.#codec = new KeyCodec(this.description, options.envelopeKey);
  }

  async load(): Promise<UnsealKeys | undefined> {
    let data: Record<string, string> | undefined;
    try {
      data = (await this.#api.readNamespacedSecret({ name: this.#name, namespace: this.#namespace })).data;
    } catch (err) {
      if (kubeStatus(err) === 404) return undefined;
      throw kubeError(UnsealerErrorCode.KEY_STORE, `${this.description}: read`, err);
    }
    const encoded = data?.[DATA_KEY];
    if (encoded === undefined) {
      throw new UnsealerError(UnsealerErrorCode.KEY_FORMAT, `${this.description}: the Secret has no "${DATA_KEY}" entry`);
    }
    return this.#codec.decode(Buffer.from(encoded, 'base64'));
  }

  async save(keys: UnsealKeys): Promise<void> {
    try {
      await this.#api.createNamespacedSecret({
        namespace: this.#namespace,
        body: {
          metadata: { name: this.#name, labels: { 'app.kubernetes.io/managed-by': 'rotor-unsealer' } },
          type: 'Opaque',
          immutable: true,
          data: { [DATA_KEY]: this.#codec.encode(keys).toString('base64') },
        },
      });
    } catch (err) {
      if (kubeStatus(err) === 409) {
        throw new UnsealerError(UnsealerErrorCode.KEYS_EXIST, `${this.description}: keys are already stored; refusing to overwrite`);
      }
      throw kubeError(UnsealerErrorCode.KEY_STORE, `${this.description}: create`, err);
    }
  }
}
