/** Turns a child's JSON log line (pino or the simulated node) into one readable line. */

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIP = new Set(['level', 'time', 'ts', 'msg', 'instance', 'pid', 'hostname']);

export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(line);
  } catch {
    return line;
  }
  if (!obj || typeof obj !== 'object') return line;
  const level = typeof obj.level === 'number' ? (LEVELS[obj.level] ?? String(obj.level)) : 'INFO ';
  const extra = Object.entries(obj)
    .filter(([k]) => !SKIP.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${level} ${String(obj.msg ?? '')}${extra ? `  ${extra}` : ''}`;
}
