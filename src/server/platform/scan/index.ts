/**
 * What is checked about a file that comes in before it is kept, and how it is offered back:
 * malware (clamd, or nothing while no scanner is configured), its real type from its bytes,
 * a safe file name, and the Content-Disposition of a download.
 */
export type { ClamdAddress, ClamdScannerOptions } from './clamd.driver.js';
export { ClamdScanner, clamdAddressOf, parseClamdUrl, parseScanReply } from './clamd.driver.js';
export { attachmentDisposition, contentDisposition, safeFileName } from './file-names.js';
export { NoMalwareScanner } from './none.driver.js';
export type { MalwareScanner, ScanVerdict } from './scan.port.js';
export { ScanFailedError } from './scan.port.js';
export { createMalwareScanner, type ScannerSettings } from './scanner.js';
export { dispositionFor, sniffContentType } from './sniff.js';
