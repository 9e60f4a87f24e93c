//! A minimal reader of the tensors of a TorchScript archive (`torch.jit.save`).
//!
//! A TorchScript archive is a zip file with one top-level folder holding `data.pkl` (a pickle of
//! the module objects: `__torch__.*` classes built with `NEWOBJ` + `BUILD`, whose attribute
//! dictionaries hold the parameters as `torch._utils._rebuild_tensor_v2(...)` calls over
//! persistent storage ids), `data/<key>` (each storage as raw little-endian bytes), `code/`
//! (TorchScript sources) and `version`. burn-store's PyTorch reader refuses these archives (it does
//! not know the `__torch__` classes), so this module interprets the handful of pickle opcodes
//! that `torch.jit.save` emits and reads the storages with a zip reader.
//!
//! Tensors are named by their attribute path from the root object, e.g.
//! `net.layers.mixed_4.tower.conv_1.weight`.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use crate::error::{MetricsError, Result};

/// A float tensor read from the archive, as `f32` values in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub values: Vec<f32>,
}

// Payloads that only show up in `Debug` output of error messages are still kept.
#[allow(dead_code)]
#[derive(Debug, Clone)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String),
    /// `NEWOBJ` result with the state given by `BUILD`.
    Object {
        class: String,
        state: Box<Value>,
    },
    /// A `REDUCE` of a callable this reader does not interpret.
    Call,
    /// Persistent storage reference: (storage class, key, element count).
    Storage {
        class: String,
        key: String,
    },
    Tensor(TensorRef),
}

#[derive(Debug, Clone)]
struct TensorRef {
    storage_class: String,
    key: String,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
}

impl<'a> Machine<'a> {
    fn err(&self, msg: impl std::fmt::Display) -> String {
        format!("data.pkl at byte {}: {msg}", self.pos)
    }

    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if self.pos + n > self.data.len() {
            return Err(self.err("truncated pickle"));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> std::result::Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn line(&mut self) -> std::result::Result<String, String> {
        let start = self.pos;
        while self.pos < self.data.len() && self.data[self.pos] != b'\n' {
            self.pos += 1;
        }
        let s = String::from_utf8_lossy(&self.data[start..self.pos]).into_owned();
        self.pos += 1;
        Ok(s)
    }

    fn pop(&mut self) -> std::result::Result<Value, String> {
        self.stack.pop().ok_or_else(|| self.err("stack underflow"))
    }

    fn pop_mark(&mut self) -> std::result::Result<Vec<Value>, String> {
        let m = self.marks.pop().ok_or_else(|| self.err("no MARK"))?;
        if m > self.stack.len() {
            return Err(self.err("MARK beyond the stack"));
        }
        Ok(self.stack.split_off(m))
    }

    fn top_mut(&mut self) -> std::result::Result<&mut Value, String> {
        let e = self.err("empty stack");
        self.stack.last_mut().ok_or(e)
    }

    fn run(mut self) -> std::result::Result<Value, String> {
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO
                }
                0x95 => {
                    self.take(8)?; // FRAME
                }
                b'.' => return self.pop(), // STOP
                b'(' => self.marks.push(self.stack.len()),
                b'N' => self.stack.push(Value::None),
                0x88 => self.stack.push(Value::Bool(true)),
                0x89 => self.stack.push(Value::Bool(false)),
                b'K' => {
                    let v = self.u8()? as i64;
                    self.stack.push(Value::Int(v))
                }
                b'M' => {
                    let b = self.take(2)?;
                    self.stack
                        .push(Value::Int(u16::from_le_bytes([b[0], b[1]]) as i64))
                }
                b'J' => {
                    let b = self.take(4)?;
                    self.stack.push(Value::Int(
                        i32::from_le_bytes(b.try_into().expect("4 bytes")) as i64,
                    ))
                }
                0x8a => {
                    // LONG1
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return Err(self.err("LONG1 wider than 64 bits"));
                    }
                    let mut buf = if b.last().is_some_and(|x| x & 0x80 != 0) {
                        [0xffu8; 8]
                    } else {
                        [0u8; 8]
                    };
                    buf[..n].copy_from_slice(b);
                    self.stack.push(Value::Int(i64::from_le_bytes(buf)))
                }
                b'G' => {
                    let b = self.take(8)?;
                    self.stack.push(Value::Float(f64::from_be_bytes(
                        b.try_into().expect("8 bytes"),
                    )))
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s))
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let s = String::from_utf8_lossy(self.take(n)?).into_owned();
                    self.stack.push(Value::Str(s))
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.stack.push(Value::Global(format!("{module}.{name}")))
                }
                0x93 => {
                    // STACK_GLOBAL
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (module, name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.stack.push(Value::Global(format!("{m}.{n}")))
                        }
                        _ => return Err(self.err("STACK_GLOBAL of non-strings")),
                    }
                }
                b')' => self.stack.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.stack.push(Value::Tuple(items))
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return Err(self.err("stack underflow in TUPLEn"));
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.stack.push(Value::Tuple(items))
                }
                b']' => self.stack.push(Value::List(Vec::new())),
                b'a' => {
                    let v = self.pop()?;
                    match self.top_mut()? {
                        Value::List(l) => l.push(v),
                        _ => return Err("APPEND to a non-list".into()),
                    }
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    match self.top_mut()? {
                        Value::List(l) => l.extend(items),
                        _ => return Err("APPENDS to a non-list".into()),
                    }
                }
                b'}' => self.stack.push(Value::Dict(Vec::new())),
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    match self.top_mut()? {
                        Value::Dict(d) => d.push((k, v)),
                        _ => return Err("SETITEM on a non-dict".into()),
                    }
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(self.err("SETITEMS with an odd item count"));
                    }
                    let mut it = items.into_iter();
                    let mut pairs = Vec::new();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    match self.top_mut()? {
                        Value::Dict(d) => d.extend(pairs),
                        _ => return Err("SETITEMS on a non-dict".into()),
                    }
                }
                b'q' => {
                    let i = self.u8()? as u32;
                    let v = self.top_mut()?.clone();
                    self.memo.insert(i, v);
                }
                b'r' => {
                    let i = self.u32()?;
                    let v = self.top_mut()?.clone();
                    self.memo.insert(i, v);
                }
                0x94 => {
                    let i = self.memo.len() as u32;
                    let v = self.top_mut()?.clone();
                    self.memo.insert(i, v);
                }
                b'h' | b'j' => {
                    let i = if op == b'h' {
                        self.u8()? as u32
                    } else {
                        self.u32()?
                    };
                    let v = self
                        .memo
                        .get(&i)
                        .cloned()
                        .ok_or_else(|| self.err(format!("memo {i} not set")))?;
                    self.stack.push(v)
                }
                0x81 => {
                    // NEWOBJ
                    let _args = self.pop()?;
                    match self.pop()? {
                        Value::Global(class) => self.stack.push(Value::Object {
                            class,
                            state: Box::new(Value::None),
                        }),
                        _ => return Err(self.err("NEWOBJ of a non-class")),
                    }
                }
                b'b' => {
                    // BUILD
                    let state = self.pop()?;
                    match self.top_mut()? {
                        Value::Object { state: s, .. } => **s = state,
                        _ => return Err("BUILD on a non-object".into()),
                    }
                }
                b'Q' => {
                    // BINPERSID: ('storage', <storage class>, key, location, numel)
                    let pid = self.pop()?;
                    let v = match pid {
                        Value::Tuple(t) if t.len() >= 3 => match (&t[0], &t[1], &t[2]) {
                            (Value::Str(kind), Value::Global(class), Value::Str(key))
                                if kind == "storage" =>
                            {
                                Value::Storage {
                                    class: class.clone(),
                                    key: key.clone(),
                                }
                            }
                            _ => return Err(self.err("unsupported persistent id")),
                        },
                        _ => return Err(self.err("unsupported persistent id")),
                    };
                    self.stack.push(v)
                }
                b'R' => {
                    // REDUCE
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let v = match (func, args) {
                        (Value::Global(f), Value::Tuple(a))
                            if f == "torch._utils._rebuild_tensor_v2" =>
                        {
                            rebuild_tensor(&a).map_err(|e| self.err(e))?
                        }
                        (Value::Global(f), _) if f == "collections.OrderedDict" => {
                            Value::Dict(Vec::new())
                        }
                        (Value::Global(f), Value::Tuple(mut a))
                            if f == "torch.jit._pickle.build_intlist" && a.len() == 1 =>
                        {
                            a.remove(0)
                        }
                        _ => Value::Call,
                    };
                    self.stack.push(v)
                }
                other => {
                    return Err(self.err(format!("unsupported pickle opcode 0x{other:02x}")));
                }
            }
        }
    }
}

fn as_usize(v: &Value) -> std::result::Result<usize, String> {
    match v {
        Value::Int(i) if *i >= 0 => Ok(*i as usize),
        _ => Err(format!("expected a non-negative integer, got {v:?}")),
    }
}

fn as_usizes(v: &Value) -> std::result::Result<Vec<usize>, String> {
    match v {
        Value::Tuple(t) | Value::List(t) => t.iter().map(as_usize).collect(),
        _ => Err(format!("expected a tuple of integers, got {v:?}")),
    }
}

fn rebuild_tensor(a: &[Value]) -> std::result::Result<Value, String> {
    if a.len() < 4 {
        return Err("_rebuild_tensor_v2 with fewer than 4 arguments".into());
    }
    let Value::Storage { class, key } = &a[0] else {
        return Err("_rebuild_tensor_v2 without a storage".into());
    };
    Ok(Value::Tensor(TensorRef {
        storage_class: class.clone(),
        key: key.clone(),
        offset: as_usize(&a[1])?,
        shape: as_usizes(&a[2])?,
        stride: as_usizes(&a[3])?,
    }))
}

fn collect(value: &Value, prefix: &str, out: &mut BTreeMap<String, TensorRef>) {
    match value {
        Value::Object { state, .. } => collect(state, prefix, out),
        Value::Dict(items) => {
            for (k, v) in items {
                if let Value::Str(k) = k {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    collect(v, &name, out);
                }
            }
        }
        Value::Tensor(t) => {
            out.insert(prefix.to_string(), t.clone());
        }
        Value::None
        | Value::Bool(_)
        | Value::Int(_)
        | Value::Float(_)
        | Value::Str(_)
        | Value::Tuple(_)
        | Value::List(_)
        | Value::Global(_)
        | Value::Call
        | Value::Storage { .. } => {}
    }
}

fn decode(class: &str, bytes: &[u8]) -> std::result::Result<Vec<f32>, String> {
    match class {
        "torch.FloatStorage" => Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect()),
        "torch.DoubleStorage" => Ok(bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect()),
        "torch.HalfStorage" => Ok(bytes
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect()),
        "torch.BFloat16Storage" => Ok(bytes
            .chunks_exact(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect()),
        other => Err(format!("unsupported storage type {other}")),
    }
}

/// Reads every floating-point tensor of a TorchScript archive, named by attribute path.
pub fn read_torchscript_tensors(path: &Path) -> Result<BTreeMap<String, HostTensor>> {
    let bad = |m: String| MetricsError::bad_file(path, m);
    let file = std::fs::File::open(path).map_err(|e| MetricsError::io(path, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        bad(format!(
            "not a zip archive (TorchScript files are zips): {e}"
        ))
    })?;
    let names: Vec<String> = zip
        .file_names_raw()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    let pkl_name = names
        .iter()
        .find(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .cloned()
        .ok_or_else(|| bad("no `<archive>/data.pkl` member: not a TorchScript archive".into()))?;
    let root = pkl_name.trim_end_matches("data.pkl").to_string();
    if !names.iter().any(|n| n.starts_with(&format!("{root}code/"))) {
        return Err(bad(format!(
            "no `{root}code/` folder: a zip with data.pkl but no TorchScript code (a torch.save \
             checkpoint? load it with the PyTorch state-dict loader)"
        )));
    }
    let mut pkl = Vec::new();
    zip.by_name(&pkl_name)
        .and_then(|mut f| f.read_to_end(&mut pkl).map_err(Into::into))
        .map_err(|e| bad(format!("reading {pkl_name}: {e}")))?;
    let machine = Machine {
        data: &pkl,
        pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    };
    let value = machine.run().map_err(bad)?;
    let mut refs = BTreeMap::new();
    collect(&value, "", &mut refs);
    if refs.is_empty() {
        return Err(bad("data.pkl holds no tensors".into()));
    }
    let mut storages: HashMap<String, Vec<f32>> = HashMap::new();
    let mut out = BTreeMap::new();
    for (name, t) in refs {
        if !storages.contains_key(&t.key) {
            let member = format!("{root}data/{}", t.key);
            let mut bytes = Vec::new();
            zip.by_name(&member)
                .and_then(|mut f| f.read_to_end(&mut bytes).map_err(Into::into))
                .map_err(|e| bad(format!("reading storage {member} of `{name}`: {e}")))?;
            let values =
                decode(&t.storage_class, &bytes).map_err(|e| bad(format!("`{name}`: {e}")))?;
            storages.insert(t.key.clone(), values);
        }
        let storage = &storages[&t.key];
        let numel: usize = t.shape.iter().product();
        if t.stride.len() != t.shape.len() {
            return Err(bad(format!("`{name}`: stride and shape ranks differ")));
        }
        // Last element index must lie inside the storage.
        let last = t.offset
            + t.shape
                .iter()
                .zip(&t.stride)
                .map(|(s, st)| s.saturating_sub(1) * st)
                .sum::<usize>();
        if numel > 0 && last >= storage.len() {
            return Err(bad(format!(
                "`{name}`: shape {:?} / stride {:?} / offset {} reach element {last} of a storage of {}",
                t.shape,
                t.stride,
                t.offset,
                storage.len()
            )));
        }
        let mut values = Vec::with_capacity(numel);
        let mut idx = vec![0usize; t.shape.len()];
        for _ in 0..numel {
            let off: usize =
                t.offset + idx.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
            values.push(storage[off]);
            for d in (0..idx.len()).rev() {
                idx[d] += 1;
                if idx[d] < t.shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        out.insert(
            name,
            HostTensor {
                shape: t.shape,
                values,
            },
        );
    }
    Ok(out)
}
