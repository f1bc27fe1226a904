/**
 * A tiny protobuf writer for building ONNX graphs in tests (the Python `onnx` package is not
 * available here). Only the wire types ONNX models need: varint, length-delimited, packed floats.
 */
class Writer {
  private readonly bytes: number[] = [];
  varint(v: number): this {
    let n = BigInt(v);
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (n > 0n);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytesField(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytesField(field, inner.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1;

function tensorType(w: Writer, dims: (number | string)[]): void {
  // TypeProto.tensor_type(1) { elem_type(1), shape(2) { dim(1) { dim_value(1) | dim_param(2) } } }
  w.message(1, (t) => {
    t.int(1, FLOAT);
    t.message(2, (s) => {
      for (const d of dims) s.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)));
    });
  });
}

function floatTensor(w: Writer, name: string, dims: number[], values: number[]): void {
  // TensorProto { dims(1), data_type(2), name(8), raw_data(9) }
  for (const d of dims) w.int(1, d);
  w.int(2, FLOAT);
  w.string(8, name);
  w.bytesField(9, new Uint8Array(Float32Array.from(values).buffer));
}

/** ONNX model computing sigmoid(X @ W + B) for X: float[N, p], W: [p, 1], B: [1]; output Y: [N, 1]. */
export function logisticOnnx(weights: number[], bias: number): Uint8Array {
  const p = weights.length;
  const m = new Writer();
  m.int(1, 8); // ir_version
  m.message(8, (o) => o.string(1, "").int(2, 13)); // opset_import { domain, version }
  m.message(7, (g) => {
    const node = (inputs: string[], output: string, op: string): void => {
      g.message(1, (n) => {
        for (const i of inputs) n.string(1, i);
        n.string(2, output).string(3, `${op}_0`).string(4, op);
      });
    };
    node(["X", "W"], "XW", "MatMul");
    node(["XW", "B"], "Z", "Add");
    node(["Z"], "Y", "Sigmoid");
    g.string(2, "logistic");
    g.message(5, (t) => floatTensor(t, "W", [p, 1], weights));
    g.message(5, (t) => floatTensor(t, "B", [1], [bias]));
    g.message(11, (v) => v.string(1, "X").message(2, (t) => tensorType(t, ["N", p])));
    g.message(12, (v) => v.string(1, "Y").message(2, (t) => tensorType(t, ["N", 1])));
  });
  return m.finish();
}
