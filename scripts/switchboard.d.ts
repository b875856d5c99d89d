// Types of the "switchboard" module that listener scripts import, for
// editors and `tsc --noEmit`. switchboard itself does not read this file.
//
//   import { db, http, log } from "switchboard";
//   export default function handle(event: SwitchboardEvent, job: Job) { … }
//
// Every binding is synchronous and bounded by the job's timeout. A binding
// that fails throws an Error; an uncaught throw fails the attempt and the
// job is retried with backoff until its tries are spent.

declare module "switchboard" {
  /** A JSON value as scripts send and receive it. */
  export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

  /** A duration such as "500ms", "30s", "5m", "1h" (kv ttl also takes "7d"), or a number of seconds. */
  export type Duration = string | number;

  /** The event a listener runs for: a verified webhook or an emitted event. */
  export interface SwitchboardEvent<P = any> {
    /** Unique id assigned when the event was stored. */
    id: string;
    /** Event name, e.g. "media.processed". */
    name: string;
    /** The [[sources]] name it arrived through, or "emit". */
    source: string;
    /** When it was received, RFC 3339. */
    receivedAt: string;
    /** Request headers as received (lower-case names). */
    headers: Record<string, string>;
    /** The decoded JSON body. */
    payload: P;
    /** For emitted events: the id of the event whose listener emitted it. */
    parent?: string;
  }

  /** The job: one listener's work on one event. */
  export interface Job {
    id: string;
    /** The listener's name from config.toml. */
    listener: string;
    /** This attempt's number, from 1. */
    attempt: number;
    /** Attempts allowed in all (the listener's `tries`). */
    maxTries: number;
    /**
     * With `order_by = "data.id"` in the listener's config: the value at
     * that payload path. Jobs of this listener with the same key run one
     * at a time, in the order their events arrived; a failing job holds
     * back the later ones of its key until it succeeds or fails for good.
     * Absent when the listener has no order_by or the payload no value
     * there (such a job is not ordered).
     */
    orderKey?: string;
  }

  /** A listener script's default export. Throw to fail the attempt. */
  export type Handler<P = any> = (event: SwitchboardEvent<P>, job: Job) => void;

  // ---------------------------------------------------------------- db

  /** One row: column name → value. Text and blobs are strings, times RFC 3339 strings, NULL is null. */
  export type Row = Record<string, any>;

  /** Result of an INSERT, UPDATE or DELETE. */
  export interface ExecResult {
    rowsAffected: number;
    /** The new row's id (SQLite, MySQL); null on Postgres, use RETURNING with first(). */
    lastInsertId: number | null;
  }

  /**
   * A parameter. Write `?` placeholders on every driver (rewritten to $1… for
   * Postgres). Objects and arrays are sent as JSON text.
   */
  export type SQLParam = string | number | boolean | null | undefined | Date | object;

  export interface Queries {
    /** Runs a statement and returns all its rows. */
    query<R extends Row = Row>(sql: string, ...params: SQLParam[]): R[];
    /** Runs a statement and returns its first row, or null if none. */
    first<R extends Row = Row>(sql: string, ...params: SQLParam[]): R | null;
    /** Runs a statement that returns no rows. */
    exec(sql: string, ...params: SQLParam[]): ExecResult;
  }

  export interface DB extends Queries {
    /**
     * Runs fn in a transaction: commits when fn returns (and returns fn's
     * result), rolls back and rethrows when fn throws.
     */
    tx<T>(fn: (tx: Queries) => T): T;
  }

  /** The application database ([database] in config.toml). In --dry-run, reads run and writes are recorded. */
  export const db: DB;

  // -------------------------------------------------------------- http

  export interface RequestOptions {
    /** Request headers. */
    headers?: Record<string, string | number | boolean>;
    /** A string is sent as is; an object or array as JSON with content-type application/json. */
    body?: string | JSONValue;
    /** Sent as JSON (content-type application/json). Do not combine with body. */
    json?: JSONValue;
    /** Per-request timeout; never longer than http.timeout or the job's deadline. */
    timeout?: Duration;
  }

  export interface Request extends RequestOptions {
    /** Default "GET". */
    method?: string;
    /** An http or https URL. */
    url: string;
  }

  export interface Response<J = any> {
    status: number;
    /** True for a 2xx status. Other statuses do not throw. */
    ok: boolean;
    /** The final URL, after redirects. */
    url: string;
    /** Response headers, lower-case names, repeated values joined with ", ". */
    headers: Record<string, string>;
    body: string;
    /** The parsed body when the content type is JSON and it parses, else null. */
    json: J | null;
    /** Set in --dry-run, where no request is made. */
    dryRun?: boolean;
  }

  /**
   * Outbound HTTP. Throws when the host is not in http.allow_hosts, the
   * address is private or reserved (unless in http.allow_cidrs), the
   * scheme is not http(s), redirects exceed http.max_redirects, the body
   * exceeds http.max_response_bytes, or the request times out.
   */
  export const http: {
    request<J = any>(req: Request): Response<J>;
    get<J = any>(url: string, opts?: RequestOptions): Response<J>;
    post<J = any>(url: string, body?: string | JSONValue, opts?: RequestOptions): Response<J>;
  };

  // -------------------------------------------------------------- mail

  export interface Mail {
    /** An address ("Ada <ada@example.com>" or "ada@example.com") or a list. Required. */
    to: string | string[];
    cc?: string | string[];
    bcc?: string | string[];
    /** Defaults to mail.from. */
    from?: string;
    replyTo?: string;
    /** Required, one line. */
    subject: string;
    /** Plain-text body; text or html (or both) is required. */
    text?: string;
    html?: string;
    /** Extra headers (not From/To/Subject/… which have their own fields). */
    headers?: Record<string, string | number>;
  }

  /** Sends mail with the configured transport (file, smtp or log). */
  export const mail: {
    send(message: Mail): { messageId: string; dryRun?: boolean };
  };

  // ----------------------------------------------------------- ittybit

  /** An Ittybit task object as the API returns it. */
  export interface IttybitTask {
    id: string;
    object?: string;
    kind?: string;
    status?: string;
    [key: string]: any;
  }

  /** What POST /jobs takes: the input file's URL, the output kind, its options. */
  export interface IttybitJobParams {
    /** An http://, https:// or s3:// URL. Required. */
    input: string;
    /** Required. */
    kind: "video" | "audio" | "image" | "animation" | "adaptive_video" | (string & {});
    /** Per kind; image: format, width, height, start (seconds into a video), fit, quality, … */
    options?: Record<string, any>;
    /** An s3:// destination. */
    output?: string;
    /** Arbitrary key/value pairs, returned with the job. */
    metadata?: Record<string, any>;
    [key: string]: any;
  }

  /** An Ittybit job object as the API returns it: the job and its tasks. */
  export interface IttybitJob {
    /** "job_…" */
    id: string;
    object?: "job" | string;
    kind?: string;
    /** "queued", "processing", "succeeded", "failed" or "cancelled". */
    status?: string;
    input?: string;
    /** The result once succeeded: a URL, or a file object with url, format, width, height. */
    output?: string | { url?: string; [key: string]: any } | null;
    options?: Record<string, any>;
    metadata?: Record<string, any>;
    error?: { kind?: string; message?: string } | null;
    tasks?: IttybitTask[];
    /** Set in --dry-run and tests, where no request is made. */
    dryRun?: boolean;
    [key: string]: any;
  }

  /**
   * The Ittybit API, with ittybit.api_key. A non-2xx answer throws with
   * Ittybit's kind and message, so the job retries; every call ends at the
   * job's deadline.
   */
  export const ittybit: {
    /**
     * POST /jobs: process params.input into params.kind. The
     * Idempotency-Key defaults to "switchboard-<job id>", the same on every
     * attempt of this job, so a retry never creates a second job. Throws
     * before any request when input or kind is missing.
     */
    createJob(params: IttybitJobParams, opts?: { idempotencyKey?: string }): IttybitJob;
    /** GET /jobs/{id}: the job with its tasks. */
    getJob(id: string): IttybitJob;
    /**
     * POST /tasks, a standalone task on a probed file. The Idempotency-Key
     * defaults as for createJob.
     */
    createTask(params: Record<string, any>, opts?: { idempotencyKey?: string }): IttybitTask;
    /** GET /tasks/{id}. */
    getTask(id: string): IttybitTask;
  };

  // ---------------------------------------------------------------- kv

  /** Durable key/value storage private to this listener. Values are stored as JSON. */
  export const kv: {
    /** The stored value, or null when absent or expired. */
    get<T = any>(key: string): T | null;
    /** Stores value; with ttl it expires after that long. */
    set(key: string, value: JSONValue, opts?: { ttl?: Duration }): void;
    /** Removes key; absent keys are fine. */
    delete(key: string): void;
  };

  // -------------------------------------------------------------- emit

  /**
   * Stores a follow-up event (source "emit") in the queue, routed like a
   * webhook, and returns its id. Emitting the same name and payload again
   * from the same job (e.g. on a retry) returns the first event's id
   * instead of storing a second one.
   */
  export function emit(name: string, payload?: JSONValue): string;

  // --------------------------------------------------------------- log

  type LogFn = (msg: string, fields?: Record<string, unknown>) => void;

  /** Structured log lines, tagged with the listener, event, job and attempt. */
  export const log: {
    debug: LogFn;
    info: LogFn;
    warn: LogFn;
    error: LogFn;
  };

  // ------------------------------------------------------ flow control

  /** Ends this attempt and runs the job again after `after`, without spending a try. */
  export function snooze(after: Duration): never;

  /** Fails the job for good, skipping any remaining tries. */
  export function cancel(reason: string): never;
}

/** console.* writes to the job's log (objects as JSON). Merges with lib.dom's Console when present. */
interface Console {
  log(...args: any[]): void;
  info(...args: any[]): void;
  debug(...args: any[]): void;
  warn(...args: any[]): void;
  error(...args: any[]): void;
}
declare var console: Console;

// ------------------------------------------------------------ tests

/**
 * Script tests: files named *.test.js or *.test.ts, run by
 * `switchboard test`. Each test gets a fresh SQLite app database and kv
 * store; http, mail, ittybit and emit calls are recorded, never made.
 *
 *   import { test, run, fixture, expect } from "switchboard/test";
 *   test("mails the owner", (t) => {
 *     t.schema("demo");
 *     const r = run("notify_user", fixture("ittybit_task_completed.json"));
 *     expect(r).toSucceed();
 *     expect(r.calls("mail.send")[0].args[0].to).toBe("ada@example.com");
 *   });
 */
declare module "switchboard/test" {
  import type { JSONValue, Row, ExecResult, SQLParam } from "switchboard";

  /** What a test function receives: its database, stubs and kv store. */
  export interface T {
    /** The test's name ("describe > test" when nested). */
    readonly name: string;
    /**
     * Applies a schema to this test's database: "demo" is the example
     * app's users and media tables with Ada (user 1) and her video (media 1,
     * task "task_demo_video"); anything else is a .sql file, relative to
     * the test file when it starts with "./" or "../", else to config.toml's
     * directory.
     */
    schema(nameOrFile: "demo" | string): void;
    /** Runs SQL on this test's database; several statements when there are no params. */
    exec(sql: string, ...params: SQLParam[]): ExecResult;
    /** Reads rows as listeners do. */
    query<R extends Row = Row>(sql: string, ...params: SQLParam[]): R[];
    /** The first row, or null. */
    first<R extends Row = Row>(sql: string, ...params: SQLParam[]): R | null;
    /**
     * Replaces a binding's answer for the rest of this test: a value is
     * returned as is, a function is called with the call's arguments (what
     * it returns is the answer, what it throws the binding throws), an
     * Error is thrown. The call is still recorded.
     */
    stub(name: CallName, answer: JSONValue | Error | ((...args: any[]) => any)): void;
    /** A listener's keys in this test's kv store, to arrange or inspect them. */
    kv(listener: string): {
      get<V = any>(key: string): V | null;
      set(key: string, value: JSONValue): void;
      delete(key: string): void;
    };
    /** Writes to the test's output (shown when it fails, or with -v). */
    log(...args: any[]): void;
  }

  /** Every binding a stub can replace and calls() can select. */
  export type CallName =
    | "db.query" | "db.first" | "db.exec" | "db.tx"
    | "http.request" | "http.get" | "http.post"
    | "mail.send"
    | "ittybit.createJob" | "ittybit.getJob" | "ittybit.createTask" | "ittybit.getTask"
    | "kv.get" | "kv.set" | "kv.delete" | "emit";

  /** One binding call a listener made. */
  export interface Call {
    module: string;
    fn: string;
    /** "mail.send"; "emit" for emit. */
    name: string;
    /** The arguments as the listener passed them. */
    args: any[];
  }

  /** What run() returns. */
  export interface RunResult {
    listener: string;
    /** The listener returned normally. */
    ok: boolean;
    /** What it threw (or why it stopped), with its stack in original file:line:col. */
    error: null | { message: string; stack: string; kind: "error" | "timeout" | "memory" };
    /** snooze(after) was called: the duration, e.g. "30s". */
    snoozed: string | null;
    /** cancel(reason) was called: the reason. */
    cancelled: string | null;
    /** The calls made, in order: all, one module's ("mail") or one function's ("mail.send"). */
    calls(name?: CallName | "db" | "http" | "mail" | "ittybit" | "kv"): Call[];
  }

  export interface RunOptions {
    /** The attempt number the listener sees (default 1). */
    attempt?: number;
    /** job.maxTries (default the listener's tries). */
    maxTries?: number;
    /** job.id (default "job_<event id>_<listener>"); the ittybit Idempotency-Key derives from it. */
    jobId?: string;
    /** Event fields; the name defaults to the listener's first `on`, the id to "evt_test_<n>". */
    event?: { id?: string; name?: string; source?: string; receivedAt?: string; headers?: Record<string, string>; parent?: string };
  }

  /** Declares a test. */
  export function test(name: string, fn: (t: T) => void | Promise<void>): void;
  export namespace test {
    /** Declares a test that is reported as skipped and not run. */
    function skip(name: string, fn?: (t: T) => void | Promise<void>): void;
  }
  /** Groups tests: their names become "name > test". */
  export function describe(name: string, fn: () => void): void;

  /** Runs the listener named in config.toml once on payload, through the real script engine. */
  export function run(listener: string, payload: any, opts?: RunOptions): RunResult;

  /**
   * The parsed JSON of a fixture file: relative to the test file when the
   * name starts with "./" or "../", else in testdata/ beside config.toml.
   */
  export function fixture<P = any>(name: string): P;

  export interface Matchers {
    /** Object.is equality. */
    toBe(expected: any): void;
    /** Deep equality (undefined properties ignored). */
    toEqual(expected: any): void;
    /** Every property of expected is present and matches, recursively. */
    toMatchObject(expected: object): void;
    /** A substring of a string, or a (deeply equal) element of an array. */
    toContain(item: any): void;
    /** A string containing text or matching a RegExp. */
    toMatch(pattern: string | RegExp): void;
    toHaveLength(n: number): void;
    toHaveProperty(key: string, value?: any): void;
    toBeTruthy(): void;
    toBeFalsy(): void;
    toBeNull(): void;
    toBeUndefined(): void;
    toBeDefined(): void;
    toBeGreaterThan(n: number): void;
    toBeLessThan(n: number): void;
    /** The function throws (an error whose message contains or matches expected, or of that class). */
    toThrow(expected?: string | RegExp | (new (...args: any[]) => Error)): void;
    /** A RunResult: the listener returned normally (no throw, snooze or cancel). */
    toSucceed(): void;
    /** A RunResult: the listener threw (a message containing or matching expected). */
    toFail(expected?: string | RegExp): void;
  }

  /** Assertions; .not negates. A failed one fails the test at its file:line. */
  export function expect(actual: any): Matchers & { not: Matchers };

  /** What a failed assertion throws. */
  export class AssertionError extends Error {}
}
