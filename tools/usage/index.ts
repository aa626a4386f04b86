export { usageSummary } from './service.js';
