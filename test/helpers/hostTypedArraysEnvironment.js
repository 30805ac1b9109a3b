'use strict';
// Jest runs each test file in its own realm, whose typed-array constructors differ from the
// ones a native addon creates: onnxruntime-node's outputs then fail its own `instanceof
// Float32Array` check. jest-environment-node already shares ArrayBuffer and Uint8Array with
// the host for Buffer's sake; this environment shares the other typed arrays too. Test files
// that run onnxruntime choose it with a `@jest-environment` docblock.
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = [
  'Int8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class HostTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}

module.exports = HostTypedArraysEnvironment;
