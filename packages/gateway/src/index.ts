export * from './config';
export * from './finalize';
export * from './logger';
export { jobAssignFrame } from './node-conn';
export * from './result-order';
export * from './server';
export { canSharePort, probeNativeUws, type TransportChoice } from './transport';
