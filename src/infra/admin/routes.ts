import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The admin endpoint as a route table: each route names its method, its path (`:name` segments
 * are parameters), whether it needs the admin token, and its handler. Reading routes stay open on
 * the private admin address; every route that changes something needs
 * `Authorization: Bearer <admin.token>`.
 */

export type AdminMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface AdminContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** values of the route's `:name` segments */
  params: Record<string, string>;
  /** HEAD of a GET route: answer without a body */
  head: boolean;
  /** the request body parsed as JSON (at most admin.maxBodyBytes); 400 when it is not JSON */
  json(): Promise<unknown>;
}

/** What a handler answers; `undefined` when it wrote the response itself (a stream, a page). */
export interface AdminReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface AdminRoute {
  method: AdminMethod;
  path: string;
  auth: 'open' | 'token';
  handle(ctx: AdminContext): AdminReply | undefined | Promise<AdminReply | undefined>;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Matches `/messages/:id` against `/messages/01J…`; undefined when it does not match. */
export function matchPath(pattern: string, pathname: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = pathname.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      if (g === '') return undefined;
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return undefined;
      }
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}

/** Constant-time comparison of `Authorization: Bearer <token>` with the admin token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length).trim());
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Reads a request body up to `limit` bytes and parses it as JSON. */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'request body: expected JSON, got nothing');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `request body is not JSON: ${(error as Error).message}`);
  }
}
