// Docs are tested claims: every relative link in the repository's Markdown
// resolves to a file inside the repository (and a #heading to a heading), and
// every `rotor` flag the docs name exists in that command's --help.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { createProgram } from '../src/program.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git']);

function* markdownFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || SKIP_DIRS.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* markdownFiles(path);
    else if (entry.name.endsWith('.md')) yield path;
  }
}

/** The text with fenced blocks and inline code blanked out: links there are not links. */
function prose(text: string): string {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const match of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = (match[1] ?? '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

interface Link {
  file: string;
  line: number;
  target: string;
}

function linksOf(file: string): Link[] {
  const text = prose(readFileSync(file, 'utf8'));
  const links: Link[] = [];
  const lineOf = (index: number): number => text.slice(0, index).split('\n').length;
  for (const m of text.matchAll(/!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ file, line: lineOf(m.index), target: m[1] ?? '' });
  for (const m of text.matchAll(/^\s{0,3}\[[^\]\n]+\]:\s+<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) links.push({ file, line: lineOf(m.index), target: m[1] ?? '' });
  return links;
}

function brokenLink(link: Link): string | undefined {
  const { target } = link;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:, ...
  const [pathPart = '', anchor] = target.split('#', 2);
  const path = decodeURIComponent(pathPart);
  const resolved = path === '' ? link.file : resolve(path.startsWith('/') ? ROOT : dirname(link.file), path.replace(/^\//, ''));
  if (resolved !== ROOT.replace(/\/$/, '') && !resolved.startsWith(ROOT)) return 'points outside the repository';
  if (!existsSync(resolved)) return 'does not exist';
  if (anchor !== undefined && anchor !== '' && resolved.endsWith('.md') && statSync(resolved).isFile()) {
    if (!anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) return `has no heading #${anchor}`;
  }
  return undefined;
}

// ---- rotor flags ----------------------------------------------------------------

interface CommandInfo {
  flags: Set<string>;
  subcommands: Map<string, CommandInfo>;
}

function describeCommand(command: Command, inherited: readonly string[]): CommandInfo {
  const flags = new Set([...inherited, '--help', ...command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined))]);
  return { flags, subcommands: new Map(command.commands.map((c) => [c.name(), describeCommand(c, [])])) };
}

const PROGRAM = describeCommand(createProgram(), []);

function allFlags(info: CommandInfo): Set<string> {
  const out = new Set(info.flags);
  for (const sub of info.subcommands.values()) for (const f of allFlags(sub)) out.add(f);
  return out;
}
const ANY_FLAG = allFlags(PROGRAM);

function hasFlag(flags: Set<string>, flag: string): boolean {
  if (flag.endsWith('*')) return [...flags].some((f) => f.startsWith(flag.slice(0, -1)));
  return flags.has(flag);
}

/** The command a `rotor a b ...` word list names, and the index after it. */
function commandOf(words: readonly string[], start: number): { info: CommandInfo; name: string; next: number } {
  let info = PROGRAM;
  const names = ['rotor'];
  let i = start;
  for (; i < words.length; i++) {
    // "plan|apply" names two subcommands; any of them will do for the flags that follow.
    const options = (words[i] ?? '').replace(/\\/g, '').split('|');
    const sub = options.map((o) => info.subcommands.get(o)).find((s) => s !== undefined);
    if (!sub) break;
    info = sub;
    names.push(options.join('|'));
  }
  return { info, name: names.join(' '), next: i };
}

const FLAG = /^\[?(--?[a-zA-Z][a-zA-Z0-9-]*\*?)/;
const END_OF_COMMAND = new Set(['|', '||', '&&', ';', '>', '<', '&']);

interface FlagUse {
  file: string;
  line: number;
  command: string;
  flag: string;
  known: boolean;
}

/** `rotor ...` command lines in code: their flags, checked against that command. */
function flagsInCode(code: string, file: string, line: number, context: { info: CommandInfo; name: string } | undefined): FlagUse[] {
  const uses: FlagUse[] = [];
  const words = code.replace(/\\\n/g, ' ').split(/\s+/).filter((w) => w.length > 0);
  let sawRotor = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    if (w !== 'rotor' && !w.endsWith('/rotor') && !w.endsWith('bin/rotor.js')) continue;
    sawRotor = true;
    const { info, name, next } = commandOf(words, i + 1);
    for (let j = next; j < words.length; j++) {
      const word = words[j] ?? '';
      if (END_OF_COMMAND.has(word) || word === 'rotor') break;
      const flag = FLAG.exec(word)?.[1];
      if (flag) uses.push({ file, line, command: name, flag, known: hasFlag(info.flags, flag) });
    }
  }
  // A span that is only a flag (`--shares`), in a section about one rotor command.
  if (!sawRotor && context) {
    const only = /^\[?(--?[a-zA-Z][a-zA-Z0-9-]*\*?)(?:[ =][^`]*)?\]?$/.exec(code.trim())?.[1];
    if (only?.startsWith('--')) uses.push({ file, line, command: context.name, flag: only, known: hasFlag(context.info === PROGRAM ? ANY_FLAG : context.info.flags, only) });
  }
  return uses;
}

/** Every flag named with `rotor` in a doc; in docs/cli.md every flag-only span is a rotor flag. */
function rotorFlags(file: string): FlagUse[] {
  const text = readFileSync(file, 'utf8');
  const uses: FlagUse[] = [];
  const rotorReference = relative(ROOT, file) === join('docs', 'cli.md');
  let context: { info: CommandInfo; name: string } | undefined = rotorReference ? { info: PROGRAM, name: 'rotor (any command)' } : undefined;
  let inFence = false;
  let fence: string[] = [];
  let fenceLine = 0;
  const lines = text.split('\n');
  lines.forEach((lineText, index) => {
    const line = index + 1;
    if (/^(```|~~~)/.test(lineText)) {
      if (inFence) uses.push(...flagsInCode(fence.join('\n'), file, fenceLine, undefined));
      inFence = !inFence;
      fence = [];
      fenceLine = line + 1;
      return;
    }
    if (inFence) {
      fence.push(lineText);
      return;
    }
    const heading = /^#{1,6}\s/.test(lineText);
    if (heading) {
      // A heading about a rotor command sets the context of its section.
      const named = /`rotor ([^`]+)`/.exec(lineText);
      if (named) {
        const { info, name } = commandOf((named[1] ?? '').split(/\s+/), 0);
        context = { info, name };
      } else context = rotorReference ? { info: PROGRAM, name: 'rotor (any command)' } : undefined;
    }
    for (const span of lineText.matchAll(/`([^`]+)`/g)) uses.push(...flagsInCode(span[1] ?? '', file, line, context));
  });
  return uses;
}

describe('docs match the code', () => {
  const files = [...markdownFiles(ROOT)];

  it('finds the Markdown files', () => {
    assert.ok(files.some((f) => f.endsWith(`${sep}README.md`)));
    assert.ok(files.filter((f) => f.includes(`${sep}docs${sep}`)).length >= 8);
  });

  it('every relative link resolves inside the repository', () => {
    const broken = files.flatMap(linksOf).flatMap((link) => {
      const why = brokenLink(link);
      return why ? [`${relative(ROOT, link.file)}:${link.line}: ${link.target} ${why}`] : [];
    });
    assert.deepEqual(broken, []);
  });

  it('every rotor flag named in any Markdown file (docs/, the READMEs) exists in that command\'s --help', () => {
    const uses = files.flatMap(rotorFlags);
    assert.ok(uses.length > 50, `found ${uses.length} flag uses`);
    const unknown = uses.filter((u) => !u.known).map((u) => `${relative(ROOT, u.file)}:${u.line}: ${u.command} has no ${u.flag}`);
    assert.deepEqual(unknown, []);
  });

  it('the checks can fail', () => {
    assert.equal(brokenLink({ file: join(ROOT, 'README.md'), line: 1, target: '../shared/seed/' }), 'points outside the repository');
    assert.equal(brokenLink({ file: join(ROOT, 'README.md'), line: 1, target: 'docs/nope.md' }), 'does not exist');
    assert.equal(brokenLink({ file: join(ROOT, 'README.md'), line: 1, target: 'docs/cli.md#no-such-heading' }), 'has no heading #no-such-heading');
    assert.equal(brokenLink({ file: join(ROOT, 'README.md'), line: 1, target: 'docs/cli.md#exit-codes' }), undefined);
    assert.deepEqual(flagsInCode('rotor status --nodes a --no-such-flag | jq .', 'x', 1, undefined).map((u) => [u.flag, u.known]), [['--nodes', true], ['--no-such-flag', false]]);
    assert.deepEqual(flagsInCode('rotor configure plan\\|apply -c f --prune', 'x', 1, undefined).map((u) => [u.command, u.flag, u.known]), [['rotor configure plan|apply', '-c', true], ['rotor configure plan|apply', '--prune', true]]);
    assert.deepEqual(anchorsOf('# A `b` c!\n## A b c\n```\n# not a heading\n```\n'), new Set(['a-b-c', 'a-b-c-1']));
  });
});
