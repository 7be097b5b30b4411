// What a PromQL expression reads: its series selectors (metric and label matchers) and the
// labels its aggregations and vector matches name. The monitoring tests check each of them
// against a real Prometheus, so a renamed metric or label fails a test instead of silencing an
// alert. A tokenizer, not a parser: promtool parses (it rejects what this would misread).

export interface LabelMatcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface SeriesSelector {
  metric: string;
  matchers: LabelMatcher[];
}

export interface PromqlRefs {
  selectors: SeriesSelector[];
  /** Labels of by/without: a selector of the expression must carry them. */
  aggregationLabels: string[];
  /** Labels of on/ignoring (vector matching): both sides, so every selector must carry them. */
  matchingLabels: string[];
  /** Labels of group_left/group_right: copied from the "one" side, so one selector must carry them. */
  joinLabels: string[];
}

const AGGREGATION = new Set(['by', 'without']);
const MATCHING = new Set(['on', 'ignoring']);
const JOIN = new Set(['group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);
/** Aggregations may put by/without before their argument: `sum by (x) (...)`. */
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);

type Token = { kind: 'ident' | 'string' | 'number' | 'punct'; text: string };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr.charAt(i) !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let text = '';
      while (j < expr.length && expr.charAt(j) !== c) {
        if (expr.charAt(j) === '\\' && c !== '`') j++;
        text += expr.charAt(j);
        j++;
      }
      tokens.push({ kind: 'string', text });
      i = j + 1;
    } else if (c === '[') {
      // A range or subquery ([5m], [1h:1m]): durations only.
      const end = expr.indexOf(']', i);
      i = end < 0 ? expr.length : end + 1;
    } else if (/[0-9.]/.test(c)) {
      const m = /^[0-9.]+(?:[eE][+-]?[0-9]+)?[a-z]*/.exec(expr.slice(i));
      tokens.push({ kind: 'number', text: m?.[0] ?? c });
      i += m?.[0].length ?? 1;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i));
      tokens.push({ kind: 'ident', text: m?.[0] ?? c });
      i += m?.[0].length ?? 1;
    } else {
      const two = expr.slice(i, i + 2);
      const op = ['=~', '!~', '!=', '==', '>=', '<='].includes(two) ? two : c;
      tokens.push({ kind: 'punct', text: op });
      i += op.length;
    }
  }
  return tokens;
}

/** A parenthesised list of label names starting at tokens[i] ("("); returns the names and the index after ")". */
function labelList(tokens: Token[], i: number): { labels: string[]; next: number } {
  const labels: string[] = [];
  if (tokens[i]?.text !== '(') return { labels, next: i };
  let j = i + 1;
  while (j < tokens.length && tokens[j]?.text !== ')') {
    const t = tokens[j];
    if (t?.kind === 'ident' || t?.kind === 'string') labels.push(t.text);
    j++;
  }
  return { labels, next: j + 1 };
}

/** Label matchers of a `{...}` block starting at tokens[i] ("{"). */
function matcherBlock(tokens: Token[], i: number): { matchers: LabelMatcher[]; next: number } {
  const matchers: LabelMatcher[] = [];
  let j = i + 1;
  while (j < tokens.length && tokens[j]?.text !== '}') {
    const label = tokens[j];
    const op = tokens[j + 1];
    const value = tokens[j + 2];
    if (label && op && value && (label.kind === 'ident' || label.kind === 'string') && ['=', '!=', '=~', '!~'].includes(op.text) && value.kind === 'string') {
      matchers.push({ label: label.text, op: op.text as LabelMatcher['op'], value: value.text });
      j += 3;
    } else {
      j++;
    }
  }
  return { matchers, next: j + 1 };
}

export function promqlRefs(expr: string): PromqlRefs {
  const tokens = tokenize(expr);
  const refs: PromqlRefs = { selectors: [], aggregationLabels: [], matchingLabels: [], joinLabels: [] };
  for (let i = 0; i < tokens.length; ) {
    const t = tokens[i];
    if (!t) break;
    if (t.kind === 'ident' && (AGGREGATION.has(t.text) || MATCHING.has(t.text) || JOIN.has(t.text))) {
      const { labels, next } = labelList(tokens, i + 1);
      (JOIN.has(t.text) ? refs.joinLabels : MATCHING.has(t.text) ? refs.matchingLabels : refs.aggregationLabels).push(...labels);
      i = next;
    } else if (t.kind === 'ident' && KEYWORDS.has(t.text.toLowerCase())) {
      i++;
    } else if (t.kind === 'ident' && (tokens[i + 1]?.text === '(' || AGGREGATIONS.has(t.text))) {
      i++; // a function or an aggregation
    } else if (t.kind === 'ident' || t.text === '{') {
      const named = t.kind === 'ident';
      const start = named ? i + 1 : i;
      const block = tokens[start]?.text === '{' ? matcherBlock(tokens, start) : { matchers: [], next: start };
      const nameMatcher = block.matchers.find((m) => m.label === '__name__' && m.op === '=');
      const metric = named ? t.text : (nameMatcher?.value ?? '');
      refs.selectors.push({ metric, matchers: block.matchers.filter((m) => m.label !== '__name__') });
      i = block.next;
    } else {
      i++;
    }
  }
  refs.aggregationLabels = [...new Set(refs.aggregationLabels)];
  refs.matchingLabels = [...new Set(refs.matchingLabels)];
  refs.joinLabels = [...new Set(refs.joinLabels)];
  return refs;
}

/** The selector as PromQL, keeping only the equality matchers (what must match exactly). */
export function exactSelector(selector: SeriesSelector): string {
  const eq = selector.matchers.filter((m) => m.op === '=');
  return `${selector.metric}${eq.length > 0 ? `{${eq.map((m) => `${m.label}=${JSON.stringify(m.value)}`).join(',')}}` : ''}`;
}

/** `$labels.X` references of alert annotation templates. */
export function templateLabels(text: string): string[] {
  return [...new Set([...text.matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g)].map((m) => m[1] ?? ''))];
}
