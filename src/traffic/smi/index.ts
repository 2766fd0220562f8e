export { smiRouter } from './router.ts';
export type { SmiConfig } from './config.ts';
