export * from './dlq-monitor';
export * from './failover-queue';
export * from './job-lifecycle';
export * from './reroute';
export * from './sweeps';
export * from './timeout-worker';
