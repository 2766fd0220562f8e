// What a GitSource decides, without I/O: the steps of its reconcile
// (decide.ts), the verdicts it draws from its Rollouts and from Git
// (verdicts.ts), and rollback scoped to the app that failed (scope.ts). The
// controller (../gitsource-controller.ts) performs what they decide.
export * from './decide.ts';
export * from './scope.ts';
export * from './verdicts.ts';
