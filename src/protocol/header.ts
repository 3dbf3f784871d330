// Request and response headers, and whole frames (4-byte size + header + body).
//
// Request Header v1 => api_key api_version correlation_id client_id
// Request Header v2 => api_key api_version correlation_id client_id TAG_BUFFER
//   client_id is a plain NULLABLE_STRING even in v2 (its flexibleVersions is "none").
// Response Header v0 => correlation_id
// Response Header v1 => correlation_id TAG_BUFFER
//   ApiVersions responses always use v0, so a client that sent a version we do not
//   know can still read the answer.

import { Reader } from './reader.js';
import { BufferWriter, SizeWriter, uvarintSize, type Writer } from './writer.js';
import { ApiKey, apiInfo } from './generated/apis.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Whether requests of this API and version carry header v2 (flexible). */
export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const info = apiInfo[apiKey];
  return info !== undefined && apiVersion >= info.flexibleFrom;
}

/** Reads the fixed part of a request header; the caller skips tagged fields when the version is flexible. */
export function readRequestHeader(r: Reader): RequestHeader {
  return {
    apiKey: r.int16(),
    apiVersion: r.int16(),
    correlationId: r.int32(),
    clientId: r.nullableString(),
  };
}

export function responseHeaderFlexible(apiKey: number, apiVersion: number): boolean {
  return apiKey !== ApiKey.ApiVersions && isFlexible(apiKey, apiVersion);
}

type WriteFn<T> = (w: Writer, m: T) => void;

/** Encodes a whole response frame. The first chunk holds the size, header and every field before the first record data. */
export function encodeResponse<T>(correlationId: number, flexibleHeader: boolean, write: WriteFn<T>, body: T): Buffer[] {
  const s = new SizeWriter();
  write(s, body);
  const head = 8 + (flexibleHeader ? 1 : 0);
  const w = new BufferWriter(head + s.size);
  w.int32(head - 4 + s.size + s.external);
  w.int32(correlationId);
  if (flexibleHeader) w.uvarint(0);
  write(w, body);
  return w.finish();
}

/** Encodes a whole request frame; used by tests and tools that speak to a broker directly. */
export function encodeRequest<T>(header: RequestHeader, write: WriteFn<T>, body: T): Buffer[] {
  const flexible = isFlexible(header.apiKey, header.apiVersion);
  const s = new SizeWriter();
  write(s, body);
  const clientIdSize = header.clientId === null ? 2 : 2 + Buffer.byteLength(header.clientId);
  const head = 4 + 8 + clientIdSize + (flexible ? uvarintSize(0) : 0);
  const w = new BufferWriter(head + s.size);
  w.int32(head - 4 + s.size + s.external);
  w.int16(header.apiKey);
  w.int16(header.apiVersion);
  w.int32(header.correlationId);
  w.nullableString(header.clientId);
  if (flexible) w.uvarint(0);
  write(w, body);
  return w.finish();
}
