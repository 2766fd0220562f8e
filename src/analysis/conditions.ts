// The condition checker the analysis validators take: a successCondition or
// failureCondition must parse, and may read only what a measurement gives it
// (`result`) and call the functions of the language, now() excepted (it has
// no time: that is for a range query's start and end). Found when the
// template is validated (weir lint, Git sync), not at the first measurement.
import type { ConditionChecker } from '../api/validate.ts';
import { namesAndCalls, parseExpression } from './expression.ts';

/** The names a condition can read. */
const CONDITION_NAMES: ReadonlySet<string> = new Set(['result']);

export const checkCondition: ConditionChecker = (source) => {
  const parsed = parseExpression(source);
  if (!parsed.ok) return { message: parsed.error.message, position: parsed.error.position };
  const { names, calls } = namesAndCalls(parsed.ast);
  const unknown = names.find((n) => !CONDITION_NAMES.has(n.name));
  if (unknown !== undefined) return { message: `unknown name '${unknown.name}': a condition reads only result`, position: unknown.pos };
  const now = calls.find((c) => c.name === 'now');
  if (now !== undefined) return { message: "now() has no time in a condition: it is for a range query's start and end", position: now.pos };
  return undefined;
};
