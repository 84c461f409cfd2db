export { ProcessSampler, type ProcessSamplerOptions, type ProcessStats } from './process-stats.js';
export { RetentionJob, type RetentionJobOptions } from './retention.js';
export { chatLogRow, type PingRowArgs, pingRow } from './rows.js';
export { type HostProbe, nodeHostProbe, SystemSampler, type SystemSamplerOptions } from './system-sampler.js';
export { type TelemetryHealth, type TelemetryTable, TelemetryWriter, type TelemetryWriterOptions } from './writer.js';
