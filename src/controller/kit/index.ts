// The controller kit: declare a controller (kind, watches, key mapping,
// backoff, workers, reconcile) on the process's shared informers, and the
// kinds they watch.
export { Controller, controllerOwnerKey, objectKey, watches, type ControllerDeclaration, type Keys, type Watch } from './controller.ts';
export * from './kinds.ts';
