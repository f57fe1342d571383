/**
 * Token policies carry regular expressions written by whoever mints a token, a browser user
 * narrowing their own token included, and they run on every request: a pattern that
 * backtracks badly would let anyone burn the server's CPU. JavaScript's engine backtracks, so
 * patterns are kept to a shape whose worst case stays small on values of bounded length:
 *
 * - no backreferences;
 * - no quantified group that itself holds a quantifier (`?` included) or an alternation
 *   (`(a+)+`, `(a|aa)*`, `(a?a?)+`: the exponential cases);
 * - at most two large repetitions (`*`, `+`, `{n,}`, or `{n,m}` with m > 10), and at most ten
 *   quantifiers of any kind (`.?` forty times is exponential too): polynomial of low degree;
 * - values longer than 256 characters are not matched (they fail the pattern).
 */
export const MAX_PATTERN_LENGTH = 256;
/** Longer values are refused rather than matched. */
export const MAX_MATCHED_LENGTH = 256;
const MAX_LARGE_REPETITIONS = 2;
const MAX_QUANTIFIERS = 10;
const SMALL_BOUND = 10;

export type PatternCheck = { ok: true; regex: RegExp } | { ok: false; reason: string };

export function checkPattern(source: string): PatternCheck {
  if (source.length > MAX_PATTERN_LENGTH) return { ok: false, reason: `is longer than ${MAX_PATTERN_LENGTH} characters` };
  let regex: RegExp;
  try {
    regex = new RegExp(source, 'u');
  } catch (error) {
    return { ok: false, reason: `is not a valid regular expression (${(error as Error).message})` };
  }
  if (/\\[1-9]|\\k</.test(source)) return { ok: false, reason: 'uses a backreference, which is not allowed' };
  const shape = analyse(source);
  if (shape.nestedRepetition) {
    return { ok: false, reason: 'repeats a group that itself repeats or alternates, which could take exponential time' };
  }
  if (shape.large > MAX_LARGE_REPETITIONS) {
    return { ok: false, reason: `has more than ${MAX_LARGE_REPETITIONS} large repetitions (*, +, {n,} or {n,m} with m > ${SMALL_BOUND})` };
  }
  if (shape.quantifiers > MAX_QUANTIFIERS) return { ok: false, reason: `has more than ${MAX_QUANTIFIERS} quantifiers` };
  return { ok: true, regex };
}

type Shape = { nestedRepetition: boolean; large: number; quantifiers: number };

/** One pass over the pattern's syntax: groups, classes, escapes and quantifiers. */
function analyse(source: string): Shape {
  const shape: Shape = { nestedRepetition: false, large: 0, quantifiers: 0 };
  // Per open group: whether it holds a quantifier or an alternation so far.
  const groups: { risky: boolean }[] = [];
  let inClass = false;
  let previousWasGroup: { risky: boolean } | undefined;
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!;
    if (char === '\\') {
      i++;
      previousWasGroup = undefined;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      continue;
    }
    const quantifier = readQuantifier(source, i);
    if (quantifier) {
      shape.quantifiers++;
      if (quantifier.large) shape.large++;
      if (previousWasGroup?.risky) shape.nestedRepetition = true;
      markRisky(groups);
      i += quantifier.length - 1;
      // A lazy or possessive-looking suffix (`*?`) is part of the same quantifier.
      if (source[i + 1] === '?') i++;
      previousWasGroup = undefined;
      continue;
    }
    previousWasGroup = undefined;
    if (char === '[') {
      inClass = true;
    } else if (char === '(') {
      groups.push({ risky: false });
      // Group prefixes such as (?: (?= (?<name> are not quantifiers.
      if (source[i + 1] === '?') {
        const close = source[i + 2] === '<' && source[i + 3] !== '=' && source[i + 3] !== '!' ? source.indexOf('>', i) : i + 2;
        i = Math.max(i + 1, close);
      }
    } else if (char === ')') {
      const group = groups.pop();
      if (group?.risky) markRisky(groups);
      previousWasGroup = group;
    } else if (char === '|') {
      markRisky(groups);
    }
  }
  return shape;
}

function readQuantifier(source: string, at: number): { length: number; large: boolean } | undefined {
  const char = source[at];
  if (char === '*' || char === '+') return { length: 1, large: true };
  if (char === '?') return { length: 1, large: false };
  if (char !== '{') return undefined;
  const match = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(at));
  if (!match) return undefined;
  const upper = match[2] === undefined ? Number(match[1]) : match[3] === '' ? Infinity : Number(match[3]);
  return { length: match[0].length, large: upper > SMALL_BOUND };
}

function markRisky(groups: { risky: boolean }[]): void {
  const innermost = groups.at(-1);
  if (innermost) innermost.risky = true;
}
