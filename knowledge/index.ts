/** Public surface of `knowledge/`: for now, Chroma's lifecycle and client. */
export { startChroma, type ChromaHandle, type ChromaOptions } from './chroma-server.js';
