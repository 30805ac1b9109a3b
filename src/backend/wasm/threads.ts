/**
 * Multithreaded XNNPACK for the wasm backend under Node.
 *
 * @tensorflow/tfjs-backend-wasm 4.22 ships an Emscripten pthreads build
 * (wasm-out/tfjs-backend-wasm-threaded-simd.{js,wasm,worker.js}) but never uses it in Node, and
 * it cannot be switched on from outside:
 *
 * - flags_wasm.js registers WASM_HAS_MULTITHREAD_SUPPORT as `false` whenever IS_NODE
 *   (tfjs issue #3830).
 * - Forcing the flag to true makes the package's init() (dist/tf-backend-wasm.node.js) hand
 *   Emscripten a `blob:nodedata:...` URL for the pthread worker script, and Node's
 *   `new Worker()` accepts only file paths and file:/data: URL objects:
 *   `TypeError [ERR_WORKER_PATH] ... Received "blob:nodedata:..."`, so setBackend('wasm')
 *   returns false. Its `mainScriptUrlOrBlob` is a Blob of the factory's source text, which in the
 *   rollup'd Node bundle refers to bundle-scope helpers (require$$0, __values, ...) that a worker
 *   does not have, so it could not load either. init() is private to the bundle; none of this is
 *   configurable.
 * - Even when loaded, init_with_threads_count() (src/cc/backend.cc) caps the pool at
 *   emscripten_num_logical_cores() / 2, i.e. os.cpus().length / 2 in Node: one thread on a
 *   2-core machine, whatever setThreadsCount() asked for.
 *
 * So this module replaces the 'wasm' backend factory with one that instantiates the shipped
 * threaded build itself, the way the package's init() does for browsers, and gives the
 * BackendWasm class (a public export) the resulting module. If anything fails it logs a warning
 * and runs the package's own factory, i.e. the usual single-threaded SIMD build.
 *
 * Internals relied on (re-check them when upgrading @tensorflow/tfjs-backend-wasm); each is
 * explained where it is used:
 * 1. tfjs-core's Engine.registryFactory (a public field) to find the stock factory to swap out
 *    and fall back to.
 * 2. The files wasm-out/tfjs-backend-wasm-threaded-simd.{js,wasm,worker.js}: the .js is a UMD
 *    module exporting the Emscripten factory; the .worker.js exports the pthread worker's
 *    source as the string `wasmWorkerContents`.
 * 3. What BackendWasm's constructor expects of the module: the `module.tfjs` cwrap bindings that
 *    the package's private init() attaches, and the thread count set by setThreadsCount().
 * 4. Emscripten's runtime in that build: the `emscripten_num_logical_cores` import, a pool of 8
 *    pre-started workers (PTHREAD_POOL_SIZE), and Module.PThread's unusedWorkers,
 *    runningWorkers, loadWasmModuleToWorker, terminateAllThreads and worker.onerror.
 * 5. That XNNPACK's pthreadpool is created once per module (init_with_threads_count) and its
 *    threads never exit.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { Logger } from '../../log';

/** `require` under another name: the module paths here are computed, and some are plain .js. */
const nodeRequire: NodeJS.Require = require;

/** PTHREAD_POOL_SIZE of the shipped build, and max_num_threads in its backend.cc. */
export const MAX_WASM_THREADS = 8;

const BUILD = 'tfjs-backend-wasm-threaded-simd';
const DEFAULT_INIT_TIMEOUT_MS = 60_000;

/** The tsconfig's libs ("ES2022", no "DOM") declare no WebAssembly; the members used here. */
type WasmImports = Record<string, Record<string, unknown>>;
interface WasmInstance {
  readonly exports: unknown;
}
interface WasmModuleHandle {
  readonly __kind?: 'WebAssembly.Module';
}
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModuleHandle>;
  instantiate(module: WasmModuleHandle, imports: WasmImports): Promise<WasmInstance>;
};

/** Test hooks; production callers pass nothing. */
export interface WasmThreadsOptions {
  /** Folder with the threaded build's .js, .wasm and .worker.js; default: the package's. */
  wasmOutDir?: string;
  /** How long loading the module and its worker pool may take before falling back. */
  initTimeoutMs?: number;
}

/** A node:worker_threads Worker as Emscripten's PThread object holds it. */
interface PthreadWorker {
  on(event: 'error', listener: (err: unknown) => void): unknown;
  off(event: 'error', listener: (err: unknown) => void): unknown;
  ref(): void;
  unref(): void;
  terminate(): unknown;
  onerror?: (err: unknown) => void;
}

/** Emscripten's PThread runtime object, exported as Module.PThread by the threaded build. */
interface PThreadRuntime {
  unusedWorkers: PthreadWorker[];
  runningWorkers: PthreadWorker[];
  terminateAllThreads(): void;
  loadWasmModuleToWorker(
    worker: PthreadWorker,
    onFinishedLoading?: (w: PthreadWorker) => void,
  ): void;
}

/** The Emscripten module settings this file passes (see the Emscripten "Module object" docs). */
interface EmscriptenConfig {
  locateFile: (file: string, prefix: string) => string | URL;
  mainScriptUrlOrBlob: string;
  instantiateWasm: (
    imports: WasmImports,
    receiveInstance: (instance: WasmInstance, module: WasmModuleHandle) => void,
  ) => object;
  onAbort: (what: unknown) => void;
  /** Set by the factory while it runs. */
  PThread?: PThreadRuntime;
}

type Cwrap = (
  name: string,
  returnType: string | null,
  argTypes: string[],
) => (...args: number[]) => unknown;

interface ThreadedModule {
  cwrap: Cwrap;
  PThread: PThreadRuntime;
  tfjs?: Record<string, unknown>;
}

/** The public exports of @tensorflow/tfjs-backend-wasm this file uses. */
interface WasmPackage {
  BackendWasm: new (wasm: unknown) => tf.KernelBackend;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

type BackendFactory = () => tf.KernelBackend | Promise<tf.KernelBackend>;

/** Requested thread count; read when the backend initialises, so a second call can change it. */
let requestedThreads = 0;
let installed = false;

/**
 * Makes the next tf.setBackend('wasm') use the threaded SIMD build with `threads` XNNPACK
 * threads (the calling thread counts as one). Call after loading @tensorflow/tfjs-backend-wasm
 * and before tf.setBackend('wasm'). Never throws: if the threaded build cannot be set up it logs
 * a warning, and the single-threaded build is used.
 */
export function enableWasmThreads(
  threads: number,
  log: Logger,
  options: WasmThreadsOptions = {},
): void {
  try {
    install(threads, log, options);
  } catch (err) {
    log.warn(`wasm threads: not enabled (${describe(err)}); using single-threaded wasm`);
  }
}

/**
 * XNNPACK threads of the initialised wasm backend: 1 for the single-threaded builds, 0 when the
 * wasm backend has not been initialised.
 */
export function wasmThreadsInUse(): number {
  if (tf.engine().registry['wasm'] == null) return 0;
  try {
    // getThreadsCount() is the package's public export; it reads a module-level variable that
    // BackendWasm's constructor sets from the C side's get_threads_count().
    return loadWasmPackage().getThreadsCount();
  } catch {
    return 0;
  }
}

function install(threads: number, log: Logger, options: WasmThreadsOptions): void {
  if (!Number.isInteger(threads) || threads <= 1) {
    log.debug({ threads }, 'wasm threads: one thread requested; nothing to do');
    return;
  }
  if (threads > MAX_WASM_THREADS) {
    log.warn(
      `wasm threads: ${threads} requested; the shipped build supports at most ${MAX_WASM_THREADS}`,
    );
    threads = MAX_WASM_THREADS;
  }
  const cores = os.availableParallelism();
  if (threads > cores) {
    log.warn(`wasm threads: ${threads} threads on ${cores} cores will oversubscribe the CPU`);
  }

  const engine = tf.engine();
  if (installed && engine.registry['wasm'] != null) {
    // A second backend selection in this process (e.g. the `backends` command's probes).
    log.debug('wasm threads: the wasm backend is already up; thread count unchanged');
    return;
  }
  if (engine.registry['wasm'] != null || engine.backendName === 'wasm') {
    throw new Error('the wasm backend is already initialised; call this before tf.setBackend');
  }
  // registryFactory is a public field of tfjs-core's Engine: backend name -> {factory, priority}.
  const original = engine.registryFactory['wasm'];
  if (original == null) throw new Error('@tensorflow/tfjs-backend-wasm is not loaded');

  requestedThreads = threads;
  if (installed) return;

  checkPlatform();
  const pkg = loadWasmPackage();
  const dir = options.wasmOutDir ?? path.join(packageDir(), 'wasm-out');
  const files = {
    js: path.join(dir, `${BUILD}.js`),
    wasm: path.join(dir, `${BUILD}.wasm`),
    worker: path.join(dir, `${BUILD}.worker.js`),
  };
  for (const file of Object.values(files)) {
    if (!fs.existsSync(file)) throw new Error(`missing ${file}`);
  }
  // The threaded build's Emscripten glue, a UMD module exporting the module factory. It is the
  // same build the Node bundle inlines, loaded from its own file so that the pthread workers
  // can load it too (by path; see workerScriptUrl).
  const factory = nodeRequire(files.js) as (config: EmscriptenConfig) => Promise<ThreadedModule>;
  if (typeof factory !== 'function') throw new Error(`${files.js} exports no module factory`);
  const timeoutMs = options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;

  const threadedFactory = async (): Promise<tf.KernelBackend> => {
    const n = requestedThreads;
    const listeners = processListeners();
    let module: ThreadedModule | undefined;
    try {
      module = await instantiate(factory, files, n, timeoutMs);
      // BackendWasm's constructor calls the module's init_with_threads_count(threadsCount), with
      // threadsCount the package-level value setThreadsCount() sets, creating the XNNPACK
      // pthreadpool; it needs the tfjs bindings that the package's init() attaches as
      // `module.tfjs` (copied from dist/backend_wasm.js init()).
      attachTfjsBindings(module);
      pkg.setThreadsCount(n);
      const backend = new pkg.BackendWasm(module);
      settleWorkers(module.PThread);
      const actual = pkg.getThreadsCount();
      if (actual !== n) log.warn(`wasm threads: asked for ${n} threads, XNNPACK uses ${actual}`);
      log.info({ threads: actual }, `wasm backend: threaded SIMD build, ${actual} threads`);
      return backend;
    } catch (err) {
      log.warn(
        `wasm threads: the threaded build failed to initialise (${describe(err)}); ` +
          'using single-threaded wasm',
      );
      if (module != null) stopThreads(module.PThread);
      restoreProcessListeners(listeners);
      pkg.setThreadsCount(-1);
      return original.factory();
    }
  };

  tf.removeBackend('wasm');
  tf.registerBackend('wasm', threadedFactory as BackendFactory, original.priority);
  installed = true;
  log.debug({ threads, dir }, 'wasm threads: threaded backend factory registered');
}

function checkPlatform(): void {
  if (typeof SharedArrayBuffer === 'undefined') throw new Error('SharedArrayBuffer is unavailable');
  // Small modules using shared memory + atomics and SIMD, from tfjs-backend-wasm's flags_wasm.js
  // (which takes them from GoogleChromeLabs/wasm-feature-detect).
  const threadsProbe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0,
    65, 0, 254, 16, 2, 0, 26, 11,
  ]);
  const simdProbe = new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26,
    11,
  ]);
  if (!WebAssembly.validate(threadsProbe)) throw new Error('this runtime lacks wasm threads');
  if (!WebAssembly.validate(simdProbe)) throw new Error('this runtime lacks wasm SIMD');
  nodeRequire('worker_threads');
}

async function instantiate(
  factory: (config: EmscriptenConfig) => Promise<ThreadedModule>,
  files: { js: string; wasm: string; worker: string },
  threads: number,
  timeoutMs: number,
): Promise<ThreadedModule> {
  // 'initialising' until the race below settles; worker errors and aborts before then make
  // this attempt fail (and fall back) instead of crashing the process.
  let state: 'initialising' | 'ready' | 'abandoned' = 'initialising';
  let reject: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, r) => (reject = r));
  const fail = (err: unknown): void => {
    if (state === 'initialising') reject(err);
  };
  const workerUrl = workerScriptUrl(files);

  const config: EmscriptenConfig = {
    // Emscripten asks for the .wasm (main thread) and the pthread worker script by name.
    locateFile: (file) => {
      if (file.endsWith('.worker.js')) return workerUrl;
      if (file.endsWith('.wasm')) return files.wasm;
      return path.join(path.dirname(files.js), file);
    },
    // What each worker evaluates (with fs.readFileSync + indirect eval, in the worker script's
    // importScripts) to get the module factory: the glue file itself.
    mainScriptUrlOrBlob: files.js,
    // Emscripten's documented instantiation hook, used only to override one import:
    // backend.cc caps XNNPACK's pool at emscripten_num_logical_cores() / 2 (it assumes two
    // hyperthreads per core), which Node answers with os.cpus().length, so a 2-core machine gets
    // one thread. Reporting twice the requested count makes init_with_threads_count(n) give n.
    // The value is read once, by a C++ global initialiser, on the main thread.
    instantiateWasm: (imports, receiveInstance) => {
      const env = imports['env'];
      if (typeof env?.['emscripten_num_logical_cores'] !== 'function') {
        fail(new Error('the threaded build does not import emscripten_num_logical_cores'));
        return {};
      }
      env['emscripten_num_logical_cores'] = () => 2 * threads;
      fs.promises
        .readFile(files.wasm)
        .then((bytes) => WebAssembly.compile(bytes))
        .then(async (mod) => {
          const instance = await WebAssembly.instantiate(mod, imports);
          if (state === 'initialising') receiveInstance(instance, mod);
        })
        .catch(fail);
      return {};
    },
    // After initialisation Emscripten's own abort handling (a thrown RuntimeError) applies.
    onAbort: (what) => fail(new Error(`wasm module aborted: ${describe(what)}`)),
  };

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, r) => {
    timer = setTimeout(
      () => r(new Error(`module and workers not ready after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  // Handled by the race below, or not at all once it has settled.
  failed.catch(() => {});
  timedOut.catch(() => {});
  const onWorkerError = (err: unknown): void => fail(new Error(`pthread worker: ${describe(err)}`));
  const workers: PthreadWorker[] = [];
  try {
    // The factory creates its pool of PTHREAD_POOL_SIZE (8) workers synchronously, before any
    // of them can report an error, so listeners attached right after it returns see every error.
    // An abandoned attempt keeps these listeners: a Worker 'error' event without a listener
    // would be thrown as an uncaught exception.
    const ready = factory(config);
    // Emscripten's glue adds process-level unhandledRejection/uncaughtException listeners that
    // rethrow; a rejection of an abandoned attempt must not reach them.
    ready.catch(() => {});
    const pthread = config.PThread;
    if (pthread == null) throw new Error('the module has no PThread runtime');
    workers.push(...pthread.unusedWorkers);
    for (const worker of workers) worker.on('error', onWorkerError);
    // Emscripten's PThread.loadWasmModuleToWorker (run for each pool worker once the module is
    // compiled) installs worker.onerror, which rethrows and would crash the process. Only once
    // the backend is up should a worker error do that (a dead pthread would otherwise hang the
    // next kernel); before, it fails this attempt, and after an abandoned one it is ignored.
    const load = pthread.loadWasmModuleToWorker;
    pthread.loadWasmModuleToWorker = function (worker, onFinishedLoading) {
      load.call(this, worker, onFinishedLoading);
      const emscriptenOnError = worker.onerror;
      worker.onerror = (err) => {
        if (state === 'ready') emscriptenOnError?.call(worker, err);
      };
    };
    const module = await Promise.race([ready, failed, timedOut]);
    state = 'ready';
    for (const worker of workers) worker.off('error', onWorkerError);
    return module;
  } catch (err) {
    state = 'abandoned';
    if (config.PThread != null) stopThreads(config.PThread);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The pthread worker script. The package's .worker.js file is not a script but a CommonJS
 * module whose `wasmWorkerContents` export holds the script's source (the browser build turns it
 * into a Blob URL). A Worker can run a data: URL (as an ES module), so this small module reads
 * that export and runs it with the CommonJS `require` and `__filename` it expects.
 * `__filename` becomes the worker's location.href, from which Emscripten derives its
 * scriptDirectory; it is given the glue file's path. The '\n' -> '\\n' replacement is the one
 * the package's init() makes: the template string holds real newlines inside string literals.
 */
function workerScriptUrl(files: { js: string; worker: string }): URL {
  const source = [
    "import { createRequire } from 'node:module';",
    `const require = createRequire(${JSON.stringify(files.worker)});`,
    `const { wasmWorkerContents } = require(${JSON.stringify(files.worker)});`,
    "const body = String(wasmWorkerContents).replace(/\\n/g, '\\\\n');",
    `new Function('require', '__filename', body)(require, ${JSON.stringify(files.js)});`,
  ].join('\n');
  return new URL(`data:text/javascript,${encodeURIComponent(source)}`);
}

/** module.tfjs as the package's init() defines it (dist/backend_wasm.js). */
function attachTfjsBindings(module: ThreadedModule): void {
  const { cwrap } = module;
  module.tfjs = {
    init: cwrap('init', null, []),
    initWithThreadsCount: cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: cwrap('get_threads_count', 'number', []),
    registerTensor: cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: cwrap('dispose_data', null, ['number']),
    dispose: cwrap('dispose', null, []),
  };
}

/**
 * After pthreadpool_create: Emscripten ref()s each worker that runs a pthread, and XNNPACK's
 * pool threads never exit, so those workers would keep Node alive forever. unref() them (as
 * Emscripten does for idle ones); the process then exits when its own work is done, and
 * BackendWasm.dispose() still terminates them via PThread.terminateAllThreads(). The pool's
 * other, never-used workers (8 minus the pool's threads) are terminated to free their isolates
 * (~8 MB each): the pthreadpool is created once per module, so no pthread is started later.
 */
function settleWorkers(pthread: PThreadRuntime): void {
  for (const worker of pthread.runningWorkers) worker.unref();
  const idle = pthread.unusedWorkers.splice(0);
  for (const worker of idle) void worker.terminate();
}

/** Terminates every worker of a module being abandoned; best effort. */
function stopThreads(pthread: PThreadRuntime): void {
  try {
    pthread.terminateAllThreads();
  } catch {
    // Workers that are left are unref'd by Emscripten once loaded and die with the process.
  }
}

/** Emscripten's Node glue adds process listeners; a failed attempt should not leave its own. */
type ListenerSnapshot = Record<'uncaughtException' | 'unhandledRejection', unknown[]>;

function processListeners(): ListenerSnapshot {
  return {
    uncaughtException: process.listeners('uncaughtException'),
    unhandledRejection: process.listeners('unhandledRejection'),
  };
}

function restoreProcessListeners(before: ListenerSnapshot): void {
  // process's typings overload on/removeListener per event; these listeners are untyped.
  const emitter = process as unknown as NodeJS.EventEmitter;
  for (const event of ['uncaughtException', 'unhandledRejection'] as const) {
    for (const listener of emitter.listeners(event)) {
      if (!before[event].includes(listener)) {
        emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}

function loadWasmPackage(): WasmPackage {
  return nodeRequire('@tensorflow/tfjs-backend-wasm') as WasmPackage;
}

function packageDir(): string {
  return path.dirname(nodeRequire.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0]!;
  if (typeof err === 'object' && err != null && 'message' in err) return String(err.message);
  return String(err);
}
