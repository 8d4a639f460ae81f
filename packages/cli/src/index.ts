/** @lingua/cli as a library: the pieces behind the `lingua` command (src/main.ts). */
export { Demo, type DemoOptions, type DemoStats, servedPairs } from './demo';
export { RoomDemo, type RoomDemoMember, type RoomDemoOptions, roomDemoMembers } from './demo-room';
export {
  type DlqEntry,
  deleteDlq,
  dlqLength,
  listDlq,
  type ReplayOutcome,
  replayDlq,
  replayTarget,
} from './dlq';
export { type DrillReport, registerDrillCommand, runDrill } from './drill';
export { formatLogLine } from './log-format';
export { type RedisTarget, withRedis } from './redis-target';
export { type LocalClusterState, readState, stateFile } from './state';
export { readFromRedis, readFromUrl, renderStatus, type Snapshot } from './status';
export { ago, table } from './table';
export { LocalCluster, NODE_PROFILES, runUp, UP_DEFAULTS, type UpOptions } from './up';
