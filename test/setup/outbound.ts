/**
 * Runs before every test file. The pages, feeds and product pages tests fetch are served by
 * local servers on loopback, so tests run as an install with `OUTBOUND_ALLOW=loopback` does;
 * test/core/outbound.test.ts checks the default (public addresses only) and the refusals.
 */
import { setOutboundPolicy } from '../../core/index.js';

setOutboundPolicy({ allow: ['loopback'] });
