/**
 * Token policies carry regular expressions written by whoever mints a token, a browser user
 * narrowing their own token included, and they run on every request: a pattern that
 * backtracks exponentially would let anyone burn the server's CPU. So patterns are small,
 * carry no backreferences, never repeat a group that itself repeats (`(a+)+`, `(a|a)*`),
 * which rules out exponential backtracking, and hold at most two unbounded repetitions, which
 * keeps the polynomial cases (`.*a.*b.*c`) small on values of bounded length.
 */
export const MAX_PATTERN_LENGTH = 256;
/** Longer values are refused rather than matched. */
export const MAX_MATCHED_LENGTH = 1024;
const MAX_UNBOUNDED_REPETITIONS = 2;

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
  if (hasNestedRepetition(source)) return { ok: false, reason: 'repeats a group that itself repeats or alternates, which could take exponential time' };
  if (countUnboundedRepetitions(source) > MAX_UNBOUNDED_REPETITIONS) {
    return { ok: false, reason: `has more than ${MAX_UNBOUNDED_REPETITIONS} unbounded repetitions (*, +, {n,})` };
  }
  return { ok: true, regex };
}

/** Whether a quantified group contains a quantifier or an alternation. */
function hasNestedRepetition(source: string): boolean {
  // For each open group: does it contain a quantifier or `|` so far?
  const groups: { risky: boolean }[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!;
    if (char === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      continue;
    }
    if (char === '[') {
      inClass = true;
    } else if (char === '(') {
      groups.push({ risky: false });
    } else if (char === ')') {
      const group = groups.pop();
      const next = source[i + 1];
      const quantified = next === '*' || next === '+' || next === '?' || next === '{';
      if (group?.risky && quantified && next !== '?') return true;
      if (group?.risky || quantified) markRisky(groups);
    } else if (char === '*' || char === '+' || char === '{' || char === '|') {
      markRisky(groups);
    }
  }
  return false;
}

function countUnboundedRepetitions(source: string): number {
  let count = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!;
    if (char === '\\') {
      i++;
    } else if (inClass) {
      if (char === ']') inClass = false;
    } else if (char === '[') {
      inClass = true;
    } else if (char === '*' || char === '+') {
      count++;
    } else if (char === '{' && /^\{\d*,\}/.test(source.slice(i))) {
      count++;
    }
  }
  return count;
}

function markRisky(groups: { risky: boolean }[]): void {
  const innermost = groups.at(-1);
  if (innermost) innermost.risky = true;
}
