import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigureError, ConfigureErrorCode, invalidConfig } from './errors.ts';
import type { ConfigIssue } from './errors.ts';
import { YamlSource } from './locate.ts';
import type { IssuePath } from './locate.ts';
import { configSchema } from './schema.ts';
import type { ConfigFile, Duration, SecretRef, StatementsInput } from './schema.ts';
import { Secret } from './secret.ts';
import { durationSeconds } from './duration.ts';
import { checkReferences } from './references.ts';
import type { Body, DesiredAuth, DesiredConfig, DesiredDatabaseEngine } from './model.ts';

export interface LoadOptions {
  /** Where `fromEnv` references are looked up; default process.env. */
  env?: Record<string, string | undefined>;
  /** Reads `fromFile` references and policy files (paths relative to the config file); default fs. */
  readFile?: (path: string) => string;
  /**
   * Keeps only part of the validated file (e.g. bootstrapSelection) before secrets,
   * files and durations are resolved: what is left out is never read.
   */
  select?: (file: ConfigFile) => ConfigFile;
}

/** Reads, validates and resolves a config file; throws ConfigureError (FILE or INVALID). */
export function loadConfig(file: string, options: LoadOptions = {}): DesiredConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigureError(ConfigureErrorCode.FILE, `cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, { cause });
  }
  return parseConfig(text, file, options);
}

/**
 * Validates and resolves a config file's text. Every problem is reported
 * at once with its file:line:col, and nothing is returned unless all is well:
 * that is what lets `apply` validate everything before its first write.
 */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): DesiredConfig {
  const source = new YamlSource(file, text);
  const syntax = source.syntaxIssues();
  if (syntax.length > 0) throw invalidConfig(syntax);

  const parsed = configSchema.safeParse(source.document.toJS() ?? {});
  if (!parsed.success) {
    throw invalidConfig(
      parsed.error.issues.flatMap((i) =>
        i.code === 'unrecognized_keys'
          ? i.keys.map((key) => source.issue(i.path, `unknown key "${key}"`, key))
          : [source.issue(i.path, source.has(i.path) ? i.message : `missing key "${String(i.path.at(-1))}"`)],
      ),
    );
  }
  const issues: ConfigIssue[] = checkReferences(parsed.data).map((r) => source.issue(r.path, r.message));
  const resolver = new Resolver(source, file, options, issues, parsed.data);
  const config = resolver.config(options.select ? options.select(parsed.data) : parsed.data);
  if (issues.length > 0) throw invalidConfig(issues);
  return config;
}

/** Turns the file's shape into the desired model, collecting problems instead of stopping at the first. */
class Resolver {
  readonly #source: YamlSource;
  readonly #dir: string;
  readonly #env: Record<string, string | undefined>;
  readonly #readFile: (path: string) => string;
  readonly #issues: ConfigIssue[];
  /** The whole file: a selection's entries are located by their path or name in it. */
  readonly #whole: ConfigFile;

  constructor(source: YamlSource, file: string, options: LoadOptions, issues: ConfigIssue[], whole: ConfigFile) {
    this.#source = source;
    this.#whole = whole;
    this.#dir = dirname(resolve(file));
    this.#env = options.env ?? process.env;
    this.#readFile = options.readFile ?? ((path) => readFileSync(path, 'utf8'));
    this.#issues = issues;
  }

  config(file: ConfigFile): DesiredConfig {
    return {
      audit: (file.audit ?? []).map((a) => ({ path: a.path, type: a.type, description: a.description ?? '', options: a.options ?? {} })),
      auth: (file.auth ?? []).map((a) => this.#auth(a, ['auth', (this.#whole.auth ?? []).findIndex((w) => w.path === a.path)])),
      policies: (file.policies ?? []).map((p) => ({
        name: p.name,
        rules: 'rules' in p ? p.rules : this.#file(p.file, ['policies', (this.#whole.policies ?? []).findIndex((w) => w.name === p.name), 'file']),
      })),
      secrets: (file.secrets ?? []).map((s) => this.#database(s, ['secrets', (this.#whole.secrets ?? []).findIndex((w) => w.path === s.path)])),
    };
  }

  #auth(method: NonNullable<ConfigFile['auth']>[number], at: IssuePath): DesiredAuth {
    const { path, type, roles = [] } = method;
    const desired: DesiredAuth = {
      path,
      type,
      tuning: tuning(method),
      roles: roles.map(({ name, ...fields }) => ({ name, body: withSeconds(fields) })),
    };
    if (method.type === 'kubernetes') {
      const { kubernetes_ca_cert: ca, token_reviewer_jwt: jwt, ...rest } = method.config;
      const config: Body = { ...rest };
      if (ca !== undefined) config.kubernetes_ca_cert = typeof ca === 'string' ? ca : this.#file(ca.fromFile, [...at, 'config', 'kubernetes_ca_cert', 'fromFile']);
      if (jwt !== undefined) config.token_reviewer_jwt = this.#secret(jwt, [...at, 'config', 'token_reviewer_jwt']);
      desired.config = config;
    }
    return desired;
  }

  #database(engine: NonNullable<ConfigFile['secrets']>[number], at: IssuePath): DesiredDatabaseEngine {
    return {
      path: engine.path,
      type: engine.type,
      tuning: tuning(engine),
      connections: (engine.connections ?? []).map((c, j) => ({
        name: c.name,
        body: { plugin_name: c.plugin_name, connection_url: c.connection_url, allowed_roles: c.allowed_roles ?? [] },
        username: c.username,
        password: this.#secret(c.password, [...at, 'connections', j, 'password']),
        verifyConnection: c.verify_connection ?? true,
        rotateRoot: c.rotate_root ?? false,
      })),
      roles: (engine.roles ?? []).map(({ name, ...fields }) => ({ name, body: withSeconds(withStatementLists(fields)) })),
    };
  }

  #secret(ref: SecretRef, at: IssuePath): Secret {
    if (ref.fromEnv !== undefined) {
      const value = this.#env[ref.fromEnv];
      if (value === undefined || value === '') this.#issue([...at, 'fromEnv'], `environment variable ${ref.fromEnv} is not set`);
      return new Secret({ fromEnv: ref.fromEnv }, value ?? '');
    }
    const path = ref.fromFile ?? '';
    // A trailing newline is an artefact of how the file was written, not part of the secret.
    return new Secret({ fromFile: path }, this.#file(path, [...at, 'fromFile']).replace(/\r?\n$/, ''));
  }

  #file(path: string, at: IssuePath): string {
    try {
      return this.#readFile(resolve(this.#dir, path));
    } catch (cause) {
      this.#issue(at, `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`);
      return '';
    }
  }

  #issue(at: IssuePath, message: string): void {
    this.#issues.push(this.#source.issue(at, message));
  }
}

const DURATION_FIELDS = new Set(['token_ttl', 'token_max_ttl', 'token_period', 'secret_id_ttl', 'default_ttl', 'max_ttl']);
const STATEMENT_FIELDS = ['creation_statements', 'revocation_statements', 'rollback_statements', 'renew_statements'];

function tuning(mount: { description?: string | undefined; default_lease_ttl?: Duration | undefined; max_lease_ttl?: Duration | undefined }): Body {
  return {
    description: mount.description ?? '',
    default_lease_ttl: durationSeconds(mount.default_lease_ttl ?? 0),
    max_lease_ttl: durationSeconds(mount.max_lease_ttl ?? 0),
  };
}

function withSeconds(fields: Record<string, unknown>): Body {
  return Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k, DURATION_FIELDS.has(k) ? durationSeconds(v as Duration) : v]),
  );
}

/** Vault stores statements as a list; one string is a one-element list. */
function withStatementLists(fields: Record<string, unknown>): Record<string, unknown> {
  const out = { ...fields };
  for (const key of STATEMENT_FIELDS) {
    const value = out[key] as StatementsInput | undefined;
    if (typeof value === 'string') out[key] = [value];
  }
  return out;
}
