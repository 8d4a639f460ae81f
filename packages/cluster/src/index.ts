export * from './errors';
export * from './hash';
export * from './keys';
export * from './redis';
export * from './scripts';
