export * from './config';
export * from './finalize';
export * from './logger';
export * from './result-order';
export * from './server';
