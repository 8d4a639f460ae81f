export * from './auth';
export * from './config';
export * from './finalize';
export * from './logger';
export { jobAssignFrame } from './node-conn';
export * from './result-order';
export * from './server';
