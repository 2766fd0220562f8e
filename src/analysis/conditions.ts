// The condition checker the analysis validators take: parse errors of
// successCondition/failureCondition with their position.
import type { ConditionChecker } from '../api/validate.ts';
import { parseExpression } from './expression.ts';

export const checkCondition: ConditionChecker = (source) => {
  const parsed = parseExpression(source);
  return parsed.ok ? undefined : { message: parsed.error.message, position: parsed.error.position };
};
