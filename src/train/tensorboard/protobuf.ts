/**
 * The few protobuf messages a TensorBoard event file holds, encoded and decoded by hand.
 *
 * Field numbers are those of the official proto3 definitions:
 *   tensorflow/core/util/event.proto          message Event
 *   tensorflow/core/framework/summary.proto   message Summary, Summary.Value, Summary.Image
 * (mirrored in tensorboard/compat/proto/). Only the fields written here are modelled; others
 * are skipped when decoding, as protobuf requires.
 */

/** Protobuf wire types (groups, 3 and 4, are not used by these messages). */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

export const EventField = { wallTime: 1, step: 2, fileVersion: 3, summary: 5 } as const;
export const SummaryField = { value: 1 } as const;
export const ValueField = { tag: 1, simpleValue: 2, image: 4 } as const;
export const ImageField = { height: 1, width: 2, colorspace: 3, encodedImageString: 4 } as const;

/** Summary.Image.colorspace for 3-channel images. */
export const COLORSPACE_RGB = 3;

export interface ImageMessage {
  height: number;
  width: number;
  colorspace: number;
  encodedImageString: Uint8Array;
}

/** A Summary.Value; `simpleValue` and `image` are members of one oneof. */
export interface ValueMessage {
  tag: string;
  simpleValue?: number;
  image?: ImageMessage;
}

export interface SummaryMessage {
  value: ValueMessage[];
}

/** An Event; `fileVersion` and `summary` are members of the oneof `what`. */
export interface EventMessage {
  /** Seconds since the Unix epoch. */
  wallTime: number;
  step: number;
  fileVersion?: string;
  summary?: SummaryMessage;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Appends fields in the order written; the caller writes them in field-number order. */
class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  private rawVarint(value: bigint): void {
    // int32/int64 negatives are sign-extended to 64 bits, hence ten bytes.
    let v = BigInt.asUintN(64, value);
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private key(field: number, wireType: WireType): void {
    this.rawVarint(BigInt((field << 3) | wireType));
  }

  varint(field: number, value: number): this {
    if (!Number.isSafeInteger(value))
      throw new RangeError(`field ${field}: ${value} is no integer`);
    this.key(field, WireType.varint);
    this.rawVarint(BigInt(value));
    return this;
  }

  double(field: number, value: number): this {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    this.key(field, WireType.fixed64);
    this.push(bytes);
    return this;
  }

  /** Rounds to float32, the wire type of `float` fields; NaN and infinities pass through. */
  float(field: number, value: number): this {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.key(field, WireType.fixed32);
    this.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, WireType.lengthDelimited);
    this.rawVarint(BigInt(value.length));
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8Encoder.encode(value));
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

// Proto3 leaves out singular fields at their default (0, ""), but always writes a set member
// of a oneof, even a zero simple_value: that is what tells "loss = 0" from "no value".

export function encodeImage(image: ImageMessage): Uint8Array {
  const w = new ProtoWriter();
  if (image.height !== 0) w.varint(ImageField.height, image.height);
  if (image.width !== 0) w.varint(ImageField.width, image.width);
  if (image.colorspace !== 0) w.varint(ImageField.colorspace, image.colorspace);
  if (image.encodedImageString.length > 0)
    w.bytes(ImageField.encodedImageString, image.encodedImageString);
  return w.finish();
}

export function encodeValue(value: ValueMessage): Uint8Array {
  if (value.simpleValue !== undefined && value.image !== undefined)
    throw new Error(`summary value '${value.tag}': simple_value and image are one oneof`);
  const w = new ProtoWriter();
  if (value.tag !== '') w.string(ValueField.tag, value.tag);
  if (value.simpleValue !== undefined) w.float(ValueField.simpleValue, value.simpleValue);
  if (value.image !== undefined) w.bytes(ValueField.image, encodeImage(value.image));
  return w.finish();
}

export function encodeSummary(summary: SummaryMessage): Uint8Array {
  const w = new ProtoWriter();
  for (const value of summary.value) w.bytes(SummaryField.value, encodeValue(value));
  return w.finish();
}

export function encodeEvent(event: EventMessage): Uint8Array {
  if (event.fileVersion !== undefined && event.summary !== undefined)
    throw new Error('event: file_version and summary are one oneof');
  const w = new ProtoWriter();
  if (event.wallTime !== 0) w.double(EventField.wallTime, event.wallTime);
  if (event.step !== 0) w.varint(EventField.step, event.step);
  if (event.fileVersion !== undefined) w.string(EventField.fileVersion, event.fileVersion);
  if (event.summary !== undefined) w.bytes(EventField.summary, encodeSummary(event.summary));
  return w.finish();
}

/** One field as found on the wire; `offset` is where its key starts within the message. */
export type ProtoField =
  | { field: number; wireType: typeof WireType.varint; offset: number; value: bigint }
  | {
      field: number;
      wireType: typeof WireType.fixed64 | typeof WireType.lengthDelimited | typeof WireType.fixed32;
      offset: number;
      value: Uint8Array;
    };

/** Splits a message into its fields, in wire order; throws on malformed input. */
export function readFields(bytes: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`malformed protobuf at byte ${at} of ${bytes.length}: ${why}`);
  };
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (at >= bytes.length) return fail('varint runs past the end');
      const byte = bytes[at++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    return fail('varint longer than 10 bytes');
  };
  const take = (n: number): Uint8Array => {
    if (n > bytes.length - at) fail(`field needs ${n} bytes, ${bytes.length - at} remain`);
    const slice = bytes.subarray(at, at + n);
    at += n;
    return slice;
  };
  while (at < bytes.length) {
    const offset = at;
    const key = readVarint();
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (field === 0) fail('field number 0');
    switch (wireType) {
      case WireType.varint:
        fields.push({ field, wireType, offset, value: readVarint() });
        break;
      case WireType.fixed64:
        fields.push({ field, wireType, offset, value: take(8) });
        break;
      case WireType.fixed32:
        fields.push({ field, wireType, offset, value: take(4) });
        break;
      case WireType.lengthDelimited: {
        const length = readVarint();
        if (length > BigInt(bytes.length - at)) fail(`length ${length} runs past the end`);
        fields.push({ field, wireType, offset, value: take(Number(length)) });
        break;
      }
      default:
        fail(`field ${field} has unsupported wire type ${wireType}`);
    }
  }
  return fields;
}

function wrongWire(message: string, f: ProtoField, expected: WireType): never {
  throw new Error(`${message} field ${f.field} has wire type ${f.wireType}, expected ${expected}`);
}

/** The value of a varint field; throws if the field came with another wire type. */
function varintOf(message: string, f: ProtoField): bigint {
  return f.wireType === WireType.varint ? f.value : wrongWire(message, f, WireType.varint);
}

/** The bytes of a fixed64, fixed32 or length-delimited field of the expected wire type. */
function bytesOf(
  message: string,
  f: ProtoField,
  wireType: typeof WireType.fixed64 | typeof WireType.lengthDelimited | typeof WireType.fixed32,
): Uint8Array {
  return f.wireType === wireType ? f.value : wrongWire(message, f, wireType);
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A varint read as a signed int64/int32 (sign-extended negatives). */
const signed = (v: bigint): number => Number(BigInt.asIntN(64, v));

export function decodeImage(bytes: Uint8Array): ImageMessage {
  const image: ImageMessage = {
    height: 0,
    width: 0,
    colorspace: 0,
    encodedImageString: new Uint8Array(0),
  };
  for (const f of readFields(bytes)) {
    if (f.field === ImageField.height) image.height = signed(varintOf('Image', f));
    else if (f.field === ImageField.width) image.width = signed(varintOf('Image', f));
    else if (f.field === ImageField.colorspace) image.colorspace = signed(varintOf('Image', f));
    else if (f.field === ImageField.encodedImageString)
      image.encodedImageString = bytesOf('Image', f, WireType.lengthDelimited);
  }
  return image;
}

export function decodeValue(bytes: Uint8Array): ValueMessage {
  const value: ValueMessage = { tag: '' };
  for (const f of readFields(bytes)) {
    if (f.field === ValueField.tag)
      value.tag = utf8Decoder.decode(bytesOf('Value', f, WireType.lengthDelimited));
    else if (f.field === ValueField.simpleValue) {
      // Oneof: the last member on the wire wins.
      value.simpleValue = view(bytesOf('Value', f, WireType.fixed32)).getFloat32(0, true);
      delete value.image;
    } else if (f.field === ValueField.image) {
      value.image = decodeImage(bytesOf('Value', f, WireType.lengthDelimited));
      delete value.simpleValue;
    }
  }
  return value;
}

export function decodeSummary(bytes: Uint8Array): SummaryMessage {
  const summary: SummaryMessage = { value: [] };
  for (const f of readFields(bytes))
    if (f.field === SummaryField.value)
      summary.value.push(decodeValue(bytesOf('Summary', f, WireType.lengthDelimited)));
  return summary;
}

export function decodeEvent(bytes: Uint8Array): EventMessage {
  const event: EventMessage = { wallTime: 0, step: 0 };
  for (const f of readFields(bytes)) {
    if (f.field === EventField.wallTime)
      event.wallTime = view(bytesOf('Event', f, WireType.fixed64)).getFloat64(0, true);
    else if (f.field === EventField.step) event.step = signed(varintOf('Event', f));
    else if (f.field === EventField.fileVersion) {
      event.fileVersion = utf8Decoder.decode(bytesOf('Event', f, WireType.lengthDelimited));
      delete event.summary;
    } else if (f.field === EventField.summary) {
      event.summary = decodeSummary(bytesOf('Event', f, WireType.lengthDelimited));
      delete event.fileVersion;
    }
  }
  return event;
}
