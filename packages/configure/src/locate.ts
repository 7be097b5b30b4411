import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document, Node } from 'yaml';
import type { ConfigIssue } from './errors.ts';

export type IssuePath = readonly PropertyKey[];

/** A parsed YAML file that can say where any value or key of it is, as line:col. */
export class YamlSource {
  readonly file: string;
  readonly document: Document;
  readonly #lines = new LineCounter();

  constructor(file: string, text: string) {
    this.file = file;
    this.document = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false, uniqueKeys: true });
  }

  /** YAML syntax errors (bad indentation, duplicate keys, ...) at their positions. */
  syntaxIssues(): ConfigIssue[] {
    return this.document.errors.map((e) => this.#issueAtOffset(e.pos[0], e.message.split('\n')[0] ?? e.message));
  }

  /** Whether the file has a value at `path` (a schema issue without one is a missing key). */
  has(path: IssuePath): boolean {
    return this.document.hasIn(path);
  }

  /**
   * An issue at the value found at `path`, or at the key `key` of the map
   * there (unknown keys). A path that does not exist (a missing key) points at
   * its nearest existing parent.
   */
  issue(path: IssuePath, message: string, key?: string): ConfigIssue {
    let node: unknown = this.document.contents;
    let found = node as Node | null;
    for (const segment of path) {
      node = isMap(node) || isSeq(node) ? node.get(isSeq(node) ? Number(segment) : segment, true) : undefined;
      if (node === undefined || node === null) break;
      found = node as Node;
    }
    if (key !== undefined && node !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
      if (pair && isScalar(pair.key)) found = pair.key;
    }
    return this.#issueAtOffset(found?.range?.[0] ?? 0, message);
  }

  #issueAtOffset(offset: number, message: string): ConfigIssue {
    const { line, col } = this.#lines.linePos(offset);
    return { file: this.file, line, col, message };
  }
}
