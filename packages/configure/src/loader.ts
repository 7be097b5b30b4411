import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigureError, ConfigureErrorCode, invalidConfig } from './errors.ts';
import type { ConfigIssue } from './errors.ts';
import type { FileView, LoadContext, Located, SchemaFragment } from './kind.ts';
import { KINDS } from './kinds/index.ts';
import { YamlSource } from './locate.ts';
import type { IssuePath } from './locate.ts';
import type { DesiredConfig } from './model.ts';
import { configSchema } from './schema.ts';
import type { ConfigEntry, ConfigFile } from './schema.ts';
import type { SecretRef } from './schema-parts.ts';
import { Secret } from './secret.ts';

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
  // The schema was assembled from the same fragments the kinds read their entries with.
  const whole = parsed.data as ConfigFile;
  const issues: ConfigIssue[] = [];
  const add = (at: IssuePath, message: string): void => {
    issues.push(source.issue(at, message));
  };
  const checked = { ...view(whole, whole), add };
  for (const kind of KINDS) kind.check?.(checked);
  const resolver = new Resolver(file, options, add);
  const context: LoadContext = {
    ...view(options.select ? options.select(whole) : whole, whole),
    secret: (ref, at) => resolver.secret(ref, at),
    file: (path, at) => resolver.file(path, at),
  };
  // Each kind fills its own slot; the mapped type DesiredConfig says the slots are exactly these.
  const config = Object.fromEntries(KINDS.map((kind) => [kind.slot, kind.load(context)])) as DesiredConfig;
  if (issues.length > 0) throw invalidConfig(issues);
  return config;
}

/**
 * The entries of `file` (the whole file, or a selection of it), each located
 * in the whole file (a selection's rebuilt entries by their path or name), so
 * that issues point at the right line.
 */
function view(file: ConfigFile, whole: ConfigFile): FileView {
  const key = (entry: ConfigEntry): unknown => entry.path ?? entry.name;
  const section = (name: string): Located<ConfigEntry>[] => {
    const all = whole[name] ?? [];
    const index = (entry: ConfigEntry): number => (all.includes(entry) ? all.indexOf(entry) : all.findIndex((w) => key(w) === key(entry)));
    return (file[name] ?? []).map((entry) => ({ entry, at: [name, index(entry)] }));
  };
  const entries = (fragment: SchemaFragment): Located<ConfigEntry>[] =>
    section(fragment.section).filter(({ entry }) => !('type' in fragment) || entry.type === fragment.type);
  // Typed per fragment by FileView's overloads: the entries passed the schema that includes the fragment.
  return { section, entries: entries as FileView['entries'] };
}

/** Resolves secrets and files for the kinds, collecting problems instead of stopping at the first. */
class Resolver {
  readonly #dir: string;
  readonly #env: Record<string, string | undefined>;
  readonly #readFile: (path: string) => string;
  readonly #add: (at: IssuePath, message: string) => void;

  constructor(file: string, options: LoadOptions, add: (at: IssuePath, message: string) => void) {
    this.#dir = dirname(resolve(file));
    this.#env = options.env ?? process.env;
    this.#readFile = options.readFile ?? ((path) => readFileSync(path, 'utf8'));
    this.#add = add;
  }

  secret(ref: SecretRef, at: IssuePath): Secret {
    if (ref.fromEnv !== undefined) {
      const value = this.#env[ref.fromEnv];
      if (value === undefined || value === '') this.#add([...at, 'fromEnv'], `environment variable ${ref.fromEnv} is not set`);
      return new Secret({ fromEnv: ref.fromEnv }, value ?? '');
    }
    const path = ref.fromFile ?? '';
    // A trailing newline is an artefact of how the file was written, not part of the secret.
    return new Secret({ fromFile: path }, this.file(path, [...at, 'fromFile']).replace(/\r?\n$/, ''));
  }

  file(path: string, at: IssuePath): string {
    try {
      return this.#readFile(resolve(this.#dir, path));
    } catch (cause) {
      this.#add(at, `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`);
      return '';
    }
  }
}
